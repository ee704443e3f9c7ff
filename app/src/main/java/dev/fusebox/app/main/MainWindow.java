package dev.fusebox.app.main;

import dev.fusebox.app.actions.ActionFactory;
import dev.fusebox.app.actions.AppAction;
import dev.fusebox.app.browse.ModelView;
import dev.fusebox.app.convert.ConvertView;
import dev.fusebox.app.diff.DiffView;
import dev.fusebox.app.mapping.MappingView;
import dev.fusebox.app.verify.VerifyView;
import dev.fusebox.app.theme.Theme;
import dev.fusebox.viewmodel.main.MainViewModel;
import dev.fusebox.viewmodel.main.Screen;
import javafx.beans.binding.BooleanBinding;
import javafx.geometry.Rectangle2D;
import javafx.scene.Node;
import javafx.scene.Scene;
import javafx.scene.image.Image;
import javafx.stage.Stage;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Builds the main window on a stage: binds every action to the view model, makes the screens and the main view,
 * applies the theme and sizes the window to fit the screen (at most 1280×760, so a 1366×768 laptop shows it
 * whole). The app's composition root and the UI tests both build the window through here.
 */
public final class MainWindow {

    public static final double MIN_WIDTH = 960;
    public static final double MIN_HEIGHT = 600;
    private static final int[] ICON_SIZES = {16, 24, 32, 48, 64, 128, 256, 512};

    private MainWindow() {
    }

    public static MainView show(Stage stage, MainViewModel vm) {
        // Only the screen shown is built with the window; the others when their tab first shows.
        Once<MappingView> mapping = new Once<>(() -> new MappingView(vm.mapping()));
        Map<Screen, Supplier<Node>> screens = new LinkedHashMap<>();
        ModelView model = new ModelView(vm.trees(), vm.detail());
        screens.put(Screen.MODEL, () -> model);
        screens.put(Screen.MAPPING, mapping::get);
        screens.put(Screen.CONVERT, new Once<>(() -> new ConvertView(vm.convert(), vm::openAndConvert)));
        screens.put(Screen.VERIFY, new Once<>(() -> new VerifyView(vm.verify())));
        screens.put(Screen.DIFF, new Once<>(() -> new DiffView(vm.diff())));
        ActionFactory actions = bindActions(stage, vm, model, mapping);
        MainView view = new MainView(vm, actions, screens);

        Rectangle2D visible = javafx.stage.Screen.getPrimary().getVisualBounds();
        double width = Math.max(MIN_WIDTH, Math.min(1280, visible.getWidth() - 40));
        double height = Math.max(MIN_HEIGHT, Math.min(760, visible.getHeight() - 40));
        Scene scene = new Scene(view, width, height);
        Theme.of(vm.darkProperty().get()).applyTo(scene);
        vm.darkProperty().addListener((o, was, dark) -> Theme.of(dark).applyTo(scene));
        stage.setScene(scene);
        stage.setMinWidth(MIN_WIDTH);
        stage.setMinHeight(MIN_HEIGHT);
        stage.titleProperty().bind(vm.titleProperty());
        stage.getIcons().setAll(icons());
        stage.show();
        return view;
    }

    /** The app's icon in the sizes window managers pick from (title bar, task switcher, dock). */
    static List<Image> icons() {
        List<Image> icons = new ArrayList<>();
        for (int size : ICON_SIZES) {
            try (InputStream in = MainWindow.class.getResourceAsStream("/dev/fusebox/app/icons/fusebox-" + size
                    + ".png")) {
                if (in != null) {
                    icons.add(new Image(in));
                }
            } catch (IOException e) {
                // An icon that cannot be read leaves the window manager's default in its place; nothing else needs it.
            }
        }
        return icons;
    }

    private static ActionFactory bindActions(Stage stage, MainViewModel vm, ModelView model,
                                             Supplier<MappingView> mapping) {
        ActionFactory f = new ActionFactory();
        BooleanBinding open = vm.hasWorkspaceProperty();
        f.bind(AppAction.OPEN_FILE, vm::openFile);
        f.bind(AppAction.OPEN_FOLDER, vm::openFolder);
        f.bind(AppAction.OPEN_SAMPLE, vm::openSample);
        f.bind(AppAction.CLEAR_RECENT, vm::clearRecentFiles, javafx.beans.binding.Bindings.isNotEmpty(vm.recentFiles()));
        f.bind(AppAction.CLOSE, vm::close, open);
        f.bind(AppAction.QUIT, stage::close);
        f.bind(AppAction.STATISTICS, vm.detail()::computeStatistics, vm.detail().canComputeStatisticsProperty());
        f.bind(AppAction.CONVERT, () -> {
            vm.screenProperty().set(Screen.CONVERT);
            vm.convert().convert();
        }, vm.convert().canConvertProperty());
        f.bind(AppAction.VERIFY, () -> {
            vm.screenProperty().set(Screen.VERIFY);
            vm.verify().verify();
        }, vm.verify().canVerifyProperty());
        f.bind(AppAction.COMPARE, () -> {
            vm.screenProperty().set(Screen.DIFF);
            vm.diff().compareWith();
        }, open.and(vm.diff().job().busyProperty().not()));
        // Find acts on the screen shown: the Mapping table's filter there, the trees' search everywhere else.
        f.bind(AppAction.FILTER, () -> {
            if (vm.screenProperty().get() == Screen.MAPPING) {
                mapping.get().focusFilter();
            } else {
                vm.screenProperty().set(Screen.MODEL);
                model.focusSearch();
            }
        }, open);
        f.bind(AppAction.CANCEL, vm.activity()::cancel, vm.activity().busyProperty());
        f.bind(AppAction.SHORTCUTS, () -> ShortcutsDialog.show(stage));
        for (Screen s : Screen.values()) {
            f.bind(MainView.showAction(s), () -> vm.screenProperty().set(s), open);
        }
        return f;
    }
}
