package dev.fusebox.app.main;

import dev.fusebox.app.actions.ActionFactory;
import dev.fusebox.app.actions.AppAction;
import dev.fusebox.viewmodel.cache.CacheViewModel;
import dev.fusebox.viewmodel.main.MainViewModel;
import dev.fusebox.viewmodel.main.Notice;
import dev.fusebox.viewmodel.main.Screen;
import javafx.animation.PauseTransition;
import javafx.beans.binding.Bindings;
import javafx.collections.ListChangeListener;
import javafx.scene.Node;
import javafx.scene.control.Button;
import javafx.scene.control.Menu;
import javafx.scene.control.MenuBar;
import javafx.scene.control.MenuItem;
import javafx.scene.control.SeparatorMenuItem;
import javafx.scene.control.Tab;
import javafx.scene.control.TabPane;
import javafx.scene.control.ToggleButton;
import javafx.scene.control.ToolBar;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.BorderPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.layout.StackPane;
import javafx.scene.layout.VBox;
import javafx.util.Duration;
import org.controlsfx.control.StatusBar;
import org.kordamp.ikonli.javafx.FontIcon;
import org.kordamp.ikonli.materialdesign2.MaterialDesignA;
import org.kordamp.ikonli.materialdesign2.MaterialDesignC;
import org.kordamp.ikonli.materialdesign2.MaterialDesignI;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The main window's content: menu bar and toolbar made from the actions, the screens as tabs (a welcome page
 * while nothing is open), a notice bar below the screens (taking its own room, covering nothing), and the status
 * bar with the running work and its Cancel. Files dropped anywhere on it are opened.
 */
public final class MainView extends BorderPane {

    private final MainViewModel vm;
    private final ActionFactory actions;
    private final Map<Screen, Tab> tabs = new EnumMap<>(Screen.class);
    private final TabPane tabPane = new TabPane();
    private final Map<Screen, Supplier<Node>> screens;
    private final NoticeBar notifications = new NoticeBar();

    /** @param screens what makes each screen's view (once, when its tab first shows), in tab order */
    public MainView(MainViewModel vm, ActionFactory actions, Map<Screen, Supplier<Node>> screens) {
        this.vm = vm;
        this.actions = actions;
        this.screens = screens;
        setId("fusebox-main");
        setTop(new VBox(createMenuBar(), createToolBar()));
        setCenter(createCenter());
        setBottom(createStatusBar());
        FileDrop.install(this, vm::open);
    }

    /**
     * The models in the Hugging Face cache, read when the File menu first opens (a submenu's items do not change
     * while it shows, so reading starts before it does).
     */
    private Menu createCacheMenu() {
        CacheViewModel cache = vm.cache();
        Menu menu = new Menu("Open from Hugging Face Cache");
        menu.setId("cache-menu");
        Runnable fill = () -> {
            List<MenuItem> items = new ArrayList<>();
            for (CacheViewModel.Entry m : cache.models()) {
                MenuItem item = new MenuItem(m.line());
                item.setMnemonicParsing(false);
                item.setDisable(!m.opens());
                item.setOnAction(e -> cache.open(m));
                items.add(item);
            }
            if (items.isEmpty()) {
                MenuItem none = new MenuItem(cache.job().busyProperty().get() ? "Reading the cache…"
                        : "No models in " + cache.rootProperty().get());
                none.setMnemonicParsing(false);
                none.setDisable(true);
                items.add(none);
            }
            menu.getItems().setAll(items);
        };
        cache.models().addListener((ListChangeListener<CacheViewModel.Entry>) c -> fill.run());
        cache.job().busyProperty().addListener((o, was, busy) -> fill.run());
        fill.run();
        return menu;
    }

    private MenuBar createMenuBar() {
        Menu recent = new Menu("Open Recent");
        recent.setId("recent-menu");
        Runnable fillRecent = () -> {
            recent.getItems().clear();
            for (Path p : vm.recentFiles()) {
                MenuItem item = new MenuItem(p.toString());
                item.setMnemonicParsing(false);
                item.setOnAction(e -> vm.openRecent(p));
                recent.getItems().add(item);
            }
            recent.getItems().addAll(new SeparatorMenuItem(), actions.menuItem(AppAction.CLEAR_RECENT));
        };
        vm.recentFiles().addListener((ListChangeListener<Path>) c -> fillRecent.run());
        fillRecent.run();

        Menu file = new Menu("File", null,
                actions.menuItem(AppAction.OPEN_FOLDER), actions.menuItem(AppAction.OPEN_FILE), recent,
                createCacheMenu(),
                actions.menuItem(AppAction.OPEN_SAMPLE), new SeparatorMenuItem(),
                actions.menuItem(AppAction.CLOSE), new SeparatorMenuItem(), actions.menuItem(AppAction.QUIT));
        file.setOnShowing(e -> vm.cache().readOnce());
        Menu tools = new Menu("Tools", null, actions.menuItem(AppAction.CONVERT), actions.menuItem(AppAction.VERIFY),
                actions.menuItem(AppAction.COMPARE), actions.menuItem(AppAction.STATISTICS), new SeparatorMenuItem(),
                actions.menuItem(AppAction.CANCEL));
        Menu view = new Menu("View");
        for (Screen s : screens.keySet()) {
            view.getItems().add(actions.menuItem(showAction(s)));
        }
        view.getItems().addAll(new SeparatorMenuItem(), actions.menuItem(AppAction.FILTER), new SeparatorMenuItem(),
                actions.checkItem(AppAction.DARK_THEME, vm.darkProperty()));
        Menu help = new Menu("Help", null, actions.menuItem(AppAction.SHORTCUTS));
        MenuBar bar = new MenuBar(file, tools, view, help);
        bar.setId("menu-bar");
        return bar;
    }

    static AppAction showAction(Screen s) {
        return switch (s) {
            case MODEL -> AppAction.SHOW_MODEL;
            case MAPPING -> AppAction.SHOW_MAPPING;
            case CONVERT -> AppAction.SHOW_CONVERT;
            case VERIFY -> AppAction.SHOW_VERIFY;
            case DIFF -> AppAction.SHOW_DIFF;
        };
    }

    private ToolBar createToolBar() {
        Region spacer = new Region();
        HBox.setHgrow(spacer, Priority.ALWAYS);
        ToggleButton dark = new ToggleButton(null, ActionFactory.icon(AppAction.DARK_THEME));
        dark.setId("dark-theme-button");
        dark.getStyleClass().add("tool-button");
        dark.setTooltip(new Tooltip(AppAction.DARK_THEME.tooltip()));
        dark.selectedProperty().bindBidirectional(vm.darkProperty());
        ToolBar bar = new ToolBar(actions.button(AppAction.OPEN_FOLDER), actions.button(AppAction.OPEN_FILE),
                new javafx.scene.control.Separator(), actions.button(AppAction.CONVERT), actions.button(AppAction.VERIFY),
                actions.button(AppAction.COMPARE), new javafx.scene.control.Separator(),
                actions.button(AppAction.STATISTICS), spacer, dark);
        bar.setId("tool-bar");
        return bar;
    }

    private Node createCenter() {
        tabPane.setId("screens");
        tabPane.setTabClosingPolicy(TabPane.TabClosingPolicy.UNAVAILABLE);
        screens.forEach((screen, node) -> {
            Tab tab = new Tab(screen.label());
            tab.setId(screen.name().toLowerCase(java.util.Locale.ROOT) + "-tab");
            tab.setGraphic(new FontIcon(showAction(screen).icon()));
            tabs.put(screen, tab);
            tabPane.getTabs().add(tab);
        });
        tabPane.getSelectionModel().selectedItemProperty().addListener((o, old, tab) ->
                tabs.forEach((screen, t) -> {
                    if (t.equals(tab)) {
                        fill(screen);
                        vm.screenProperty().set(screen);
                    }
                }));
        vm.screenProperty().addListener((o, old, screen) -> tabPane.getSelectionModel().select(tabs.get(screen)));
        fill(vm.screenProperty().get());
        tabPane.getSelectionModel().select(tabs.get(vm.screenProperty().get()));

        WelcomeView welcome = new WelcomeView(vm, actions);
        welcome.visibleProperty().bind(vm.hasWorkspaceProperty().not());
        tabPane.visibleProperty().bind(vm.hasWorkspaceProperty());
        StackPane stack = new StackPane(tabPane, welcome);

        // Below the screens, not over them nor over the screen tabs (which its reader often wants next: Verify after
        // Convert).
        notifications.setOnClose(vm::dismissNotice);
        vm.noticeProperty().addListener((o, old, notice) -> show(notice));
        VBox.setVgrow(stack, Priority.ALWAYS);
        return new VBox(stack, notifications);
    }

    /** Gives the screen's tab its view, made now if it has none yet. */
    private void fill(Screen screen) {
        Tab tab = tabs.get(screen);
        if (tab.getContent() == null) {
            tab.setContent(screens.get(screen).get());
        }
    }

    // A later notice with the same text is a new one, shown its own 8 s: only this very notice is dismissed.
    @SuppressWarnings("ReferenceEquality")
    private void show(Notice notice) {
        if (notice == null) {
            notifications.hide();
            return;
        }
        FontIcon icon = new FontIcon(switch (notice.kind()) {
            case INFO -> MaterialDesignI.INFORMATION_OUTLINE;
            case SUCCESS -> MaterialDesignC.CHECK_CIRCLE;
            case ERROR -> MaterialDesignA.ALERT_CIRCLE_OUTLINE;
        });
        icon.getStyleClass().add("notice-icon");
        notifications.show(notice.text(), icon, notice.kind().name().toLowerCase(java.util.Locale.ROOT));
        if (notice.kind() != Notice.Kind.ERROR) {
            PauseTransition later = new PauseTransition(Duration.seconds(8));
            later.setOnFinished(e -> {
                if (vm.noticeProperty().get() == notice) {
                    vm.dismissNotice();
                }
            });
            later.play();
        }
    }

    private StatusBar createStatusBar() {
        StatusBar bar = new StatusBar();
        bar.setId("status-bar");
        bar.textProperty().bind(Bindings.when(vm.activity().busyProperty())
                .then(vm.activity().textProperty()).otherwise(vm.statusProperty()));
        bar.progressProperty().bind(vm.activity().progressProperty());
        Button cancel = actions.labelledButton(AppAction.CANCEL);
        cancel.setText("Cancel");
        cancel.setId("status-cancel");
        cancel.visibleProperty().bind(vm.activity().busyProperty());
        cancel.managedProperty().bind(cancel.visibleProperty());
        bar.getRightItems().add(cancel);
        return bar;
    }

    /** The window's actions, to run one as its menu item would. */
    public ActionFactory actions() {
        return actions;
    }

    public TabPane tabPane() {
        return tabPane;
    }

    public NoticeBar notifications() {
        return notifications;
    }
}
