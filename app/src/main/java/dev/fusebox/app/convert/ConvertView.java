package dev.fusebox.app.convert;

import dev.fusebox.app.main.FileDrop;
import dev.fusebox.app.main.JobBar;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.viewmodel.convert.ConvertViewModel;
import javafx.geometry.Pos;
import javafx.scene.Node;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;
import javafx.scene.control.Button;
import javafx.scene.control.CheckBox;
import javafx.scene.control.ChoiceBox;
import javafx.scene.control.Label;
import javafx.scene.control.TextField;
import javafx.scene.control.Tooltip;
import javafx.util.StringConverter;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import org.kordamp.ikonli.javafx.FontIcon;
import org.kordamp.ikonli.materialdesign2.MaterialDesignC;
import org.kordamp.ikonli.materialdesign2.MaterialDesignF;
import org.kordamp.ikonli.materialdesign2.MaterialDesignS;
import org.kordamp.ikonli.materialdesign2.MaterialDesignT;

import java.nio.file.Path;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * The convert screen: what Convert writes, its options (the command line's: merge the adapter, the adapter's dtype,
 * the largest shard, dequantize FP8), the Convert button and the progress of a running conversion, what the last
 * one wrote with Verify and Open output, and two drop zones that open a checkpoint and convert it to v5 or to
 * legacy.
 */
public final class ConvertView extends VBox {

    public ConvertView(ConvertViewModel vm, BiConsumer<List<Path>, Layout> openAndConvert) {
        super(12);
        setId("convert-view");
        getStyleClass().add("screen");
        Label description = new Label();
        description.setId("convert-description");
        description.getStyleClass().add("lead");
        description.setWrapText(true);
        description.textProperty().bind(vm.descriptionProperty());

        Button convert = new Button("Convert…", new FontIcon(MaterialDesignS.SWAP_HORIZONTAL));
        convert.setId("convert-action");
        convert.getStyleClass().add("accent");
        convert.disableProperty().bind(vm.canConvertProperty().not());
        convert.setOnAction(e -> vm.convert());
        Label hint = new Label("asks for a folder and writes each conversion above into it, under the name shown; "
                + "the input is only read");
        hint.getStyleClass().add("muted");
        HBox commands = new HBox(10, convert, hint);
        commands.setAlignment(Pos.CENTER_LEFT);

        Label outcome = new Label();
        outcome.setId("convert-outcome");
        outcome.setWrapText(true);
        outcome.textProperty().bind(vm.outcomeTextProperty());
        Button verify = new Button("Verify", new FontIcon(MaterialDesignC.CHECK_DECAGRAM_OUTLINE));
        verify.setId("verify-output");
        verify.setOnAction(e -> vm.verifyOutput());
        Button open = new Button("Open output", new FontIcon(MaterialDesignF.FOLDER_OPEN_OUTLINE));
        open.setId("open-output");
        open.setOnAction(e -> vm.openOutput());
        HBox done = new HBox(10, verify, open);
        done.visibleProperty().bind(vm.hasOutputProperty());
        done.managedProperty().bind(done.visibleProperty());
        VBox result = new VBox(8, outcome, done);
        result.getStyleClass().add("outcome");
        result.visibleProperty().bind(outcome.textProperty().isNotEmpty());
        result.managedProperty().bind(result.visibleProperty());

        HBox zones = new HBox(16, dropZone("Convert to v5", "drop-to-v5", Layout.V5, openAndConvert),
                dropZone("Convert to legacy", "drop-to-legacy", Layout.LEGACY, openAndConvert));
        VBox.setVgrow(zones, Priority.ALWAYS);
        getChildren().addAll(description, createOptions(vm), commands, new JobBar(vm.job(), "convert"), result,
                zones);
    }

    private static Node createOptions(ConvertViewModel vm) {
        CheckBox merge = new CheckBox("Merge the adapter into the model");
        merge.setId("convert-merge");
        merge.setTooltip(new Tooltip("Write one model with the LoRA adapter's update added to its weights, as "
                + "PEFT's merge_and_unload does, instead of the adapter converted beside it (--merge-adapter)"));
        merge.selectedProperty().bindBidirectional(vm.mergeAdapterProperty());
        showWhen(merge, vm.canMergeAdapterProperty());

        ChoiceBox<Dtype> dtype = new ChoiceBox<>(dtypes());
        dtype.setId("convert-dtype");
        dtype.setConverter(new StringConverter<>() {
            @Override
            public String toString(Dtype d) {
                return d == null ? "each in its own dtype" : d.torchName();
            }

            @Override
            public Dtype fromString(String s) {
                throw new UnsupportedOperationException("the adapter's dtype is chosen, not typed");
            }
        });
        dtype.valueProperty().bindBidirectional(vm.adapterDtypeProperty());
        HBox dtypeBox = new HBox(6, new Label("Adapter written as"), dtype);
        dtypeBox.setAlignment(Pos.CENTER_LEFT);
        showWhen(dtypeBox, vm.canChooseDtypeProperty());

        TextField shard = new TextField();
        shard.setId("convert-shard-size");
        shard.setPrefColumnCount(7);
        shard.setTooltip(new Tooltip("The most tensor bytes one shard file holds, e.g. 5GB, 500MB, 2GiB; a larger "
                + "tensor gets a shard of its own (--max-shard-size)"));
        shard.textProperty().bindBidirectional(vm.maxShardSizeProperty());
        HBox shardBox = new HBox(6, new Label("Largest shard"), shard);
        shardBox.setAlignment(Pos.CENTER_LEFT);

        CheckBox dequantize = new CheckBox("Dequantize the FP8 weights");
        dequantize.setId("convert-dequantize");
        dequantize.setTooltip(new Tooltip("Write the FP8 weights dense in the model's dtype, exactly as transformers "
                + "dequantizes them on CPU, and config.json without quantization_config (--dequantize)"));
        dequantize.selectedProperty().bindBidirectional(vm.dequantizeProperty());
        showWhen(dequantize, vm.canDequantizeProperty());

        Label problem = new Label();
        problem.setId("convert-options-problem");
        problem.getStyleClass().add("error-text");
        problem.textProperty().bind(vm.shardSizeProblemProperty());
        showWhen(problem, vm.shardSizeProblemProperty().isNotEmpty());

        HBox options = new HBox(18, merge, dtypeBox, shardBox, dequantize, problem);
        options.setId("convert-options");
        options.setAlignment(Pos.CENTER_LEFT);
        return options;
    }

    /** Each dtype an adapter may be written in, after "each in its own" (null). */
    private static ObservableList<Dtype> dtypes() {
        ObservableList<Dtype> d = FXCollections.observableArrayList();
        d.add(null);
        d.addAll(ConvertViewModel.ADAPTER_DTYPES);
        return d;
    }

    private static void showWhen(Node node, javafx.beans.value.ObservableBooleanValue shown) {
        node.visibleProperty().bind(javafx.beans.binding.Bindings.createBooleanBinding(shown::get, shown));
        node.managedProperty().bind(node.visibleProperty());
    }

    private static Node dropZone(String title, String id, Layout to,
                                 BiConsumer<List<Path>, Layout> openAndConvert) {
        FontIcon icon = new FontIcon(MaterialDesignT.TRAY_ARROW_DOWN);
        icon.getStyleClass().add("drop-icon");
        Label label = new Label(title);
        label.getStyleClass().add("drop-title");
        Label sub = new Label("drop a checkpoint folder or .safetensors file here");
        sub.getStyleClass().add("muted");
        VBox zone = new VBox(6, icon, label, sub);
        zone.setId(id);
        zone.getStyleClass().add("drop-zone");
        zone.setAlignment(Pos.CENTER);
        zone.setMaxWidth(Double.MAX_VALUE);
        HBox.setHgrow(zone, Priority.ALWAYS);
        FileDrop.install(zone, paths -> openAndConvert.accept(paths, to));
        return zone;
    }
}
