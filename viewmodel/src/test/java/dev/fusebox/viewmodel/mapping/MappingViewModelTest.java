package dev.fusebox.viewmodel.mapping;

import dev.fusebox.testsupport.Fixtures;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.main.FakeDialogs;
import dev.fusebox.viewmodel.main.MainViewModel;
import dev.fusebox.viewmodel.main.Opened;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class MappingViewModelTest {

    @TempDir
    Path temp;

    private MainViewModel main;

    @AfterEach
    void close() {
        if (main != null) {
            main.close();
        }
    }

    private MappingViewModel open(Path... paths) {
        main = Opened.with(temp, new FakeDialogs(), paths);
        return main.mapping();
    }

    private static MappingRow row(MappingViewModel vm, String key) {
        return vm.shownRows().stream().filter(r -> r.targetKey().equals(key)).findFirst().orElseThrow();
    }

    @Test
    void everyTargetIsListedByLayerWithItsSourcesAndOperations() {
        MappingViewModel vm = open(Fixtures.tiny("legacy-base"));
        assertThat(vm.groups()).extracting(MappingGroup::label)
                .containsExactly("Layer 0", "Layer 1", MappingRow.OUTSIDE_LAYERS);
        // 41 legacy tensors: the 2 × 12 expert weights of the two layers fuse into 2 × 2, so 41 − 24 + 4 = 21.
        assertThat(vm.shownRows()).hasSize(21);
        MappingRow fused = row(vm, "model.layers.0.mlp.experts.gate_up_proj");
        assertThat(fused.kind()).isEqualTo("fuse");
        assertThat(fused.targetShapeText()).isEqualTo("[4, 192, 64]");
        assertThat(fused.sourceShapesText()).isEqualTo("8 × [96, 64]");
        assertThat(fused.sourcesText()).isEqualTo("model.layers.0.block_sparse_moe.experts.0.w1.weight + 7 more");
        assertThat(fused.operationsText()).isEqualTo("stack(dim=0) · concat(dim=1)");
        assertThat(row(vm, "model.layers.0.mlp.gate.weight").kind()).isEqualTo("rename");
        assertThat(row(vm, "model.embed_tokens.weight").kind()).isEqualTo("copy");
        assertThat(vm.summaryProperty().get()).startsWith("Model: mixtral, legacy → v5 by the mixtral rules");
        assertThat(vm.messages()).isEmpty();
    }

    @Test
    void countsInTheSummaryHaveThousandsSeparators() {
        // DeepSeek-V3's 46,679 tensors copied as they are.
        assertThat(MappingTable.kinds(46679, 0, 1218))
                .isEqualTo("46,679 copied, 0 renamed, 1,218 built by operations");
    }

    @Test
    void theFilterKeepsRowsWithEveryWordAndSaysHowManyShow() {
        MappingViewModel vm = open(Fixtures.tiny("legacy-base"));
        vm.filterProperty().set("gate_up");
        assertThat(vm.shownRows()).extracting(MappingRow::targetKey).containsExactly(
                "model.layers.0.mlp.experts.gate_up_proj", "model.layers.1.mlp.experts.gate_up_proj");
        vm.filterProperty().set("layers.1 W2");
        assertThat(vm.shownRows()).extracting(MappingRow::targetKey)
                .containsExactly("model.layers.1.mlp.experts.down_proj");
        assertThat(vm.shownTextProperty().get()).isEqualTo("1 of 21 tensors");
        vm.filterProperty().set("");
        assertThat(vm.shownTextProperty().get()).isEqualTo("21 tensors");
    }

    @Test
    void withoutGroupingAllRowsFormOneGroup() {
        MappingViewModel vm = open(Fixtures.tiny("legacy-base"));
        vm.groupByLayerProperty().set(false);
        assertThat(vm.groups()).singleElement().satisfies(g -> assertThat(g.rows()).hasSize(21));
    }

    @Test
    void withoutGroupingRowsRunInLayerOrderThenWhatIsOutsideTheLayers() throws Exception {
        MappingViewModel vm = open(LastLayerFirst.write(temp.resolve("last-layer-first")));
        vm.groupByLayerProperty().set(false);
        // Layer 1's tensors are stored first; the table still reads layer 0, layer 1, then the rest.
        assertThat(vm.shownRows()).extracting(MappingRow::layer).isSortedAccordingTo(
                java.util.Comparator.comparingInt(l -> l < 0 ? Integer.MAX_VALUE : l));
        assertThat(vm.shownRows().getFirst().layer()).isZero();
        assertThat(vm.shownRows().getLast().layer()).isEqualTo(-1);
    }

    @Test
    void theDiagramOfGateUpProjStacksExpertsAndConcatenatesGateAndUp() {
        MappingViewModel vm = open(Fixtures.tiny("legacy-base"));
        vm.selectedProperty().set(row(vm, "model.layers.0.mlp.experts.gate_up_proj"));
        ShapeDiagram d = vm.diagramProperty().get();
        assertThat(d.shape().toString()).isEqualTo("[4, 192, 64]");
        assertThat(d.blocks()).hasSize(8);
        ShapeDiagram.Block up2 = d.blocks().stream()
                .filter(b -> b.sourceKey().equals("model.layers.0.block_sparse_moe.experts.2.w3.weight"))
                .findFirst().orElseThrow();
        assertThat(up2.start()).containsExactly(2, 96, 0);
        assertThat(up2.extent()).containsExactly(1, 96, 64);
        assertThat(up2.label()).isEqualTo("experts.2.w3");
        assertThat(d.roles().get(up2.role())).isEqualTo("w3");
        // Roles keep their colour from one target to the next: w2 is the same role in down_proj.
        int w2 = d.roles().indexOf("w2");
        vm.selectedProperty().set(row(vm, "model.layers.1.mlp.experts.down_proj"));
        assertThat(vm.diagramProperty().get().blocks()).allSatisfy(b -> assertThat(b.role()).isEqualTo(w2));
    }

    @Test
    void theSamplesAdapterIsMappedBesideItsBaseWithThePeftCheckOnTop() {
        MappingViewModel vm = open(Fixtures.tiny("legacy-base"), Fixtures.tiny("legacy-lora-attn_experts"));
        assertThat(vm.messages()).first().satisfies(m -> {
            assertThat(m.kind()).isEqualTo(PlanMessage.Kind.PEFT_FINE);
            assertThat(m.text()).startsWith("PEFT check: PEFT 0.21 would convert and load it exactly");
        });
        assertThat(vm.messages()).noneMatch(m -> m.kind() == PlanMessage.Kind.REFUSAL);
        assertThat(vm.shownRows()).hasSize(21 + 24);
        assertThat(vm.summaryProperty().get()).contains("\nAdapter: mixtral, legacy → v5");
        MappingRow gateUpA = row(vm, "base_model.model.model.layers.0.mlp.experts.base_layer.lora_A.weight");
        assertThat(gateUpA.checkpoint()).isEqualTo("adapter");
        assertThat(gateUpA.kind()).isEqualTo("compute");
        assertThat(gateUpA.loraText()).isEqualTo("rank 4 → 8, alpha 8 → 16 (scale 2)");
        vm.filterProperty().set("adapter gate_up");
        assertThat(vm.shownRows()).hasSize(4);
    }

    @Test
    void theDiagramOfAFusedLoraFactorPlacesEachExpertsBlocks() {
        MappingViewModel vm = open(Fixtures.tiny("legacy-base"), Fixtures.tiny("legacy-lora-attn_experts"));
        vm.selectedProperty().set(row(vm, "base_model.model.model.layers.0.mlp.experts.base_layer.lora_A.weight"));
        ShapeDiagram a = vm.diagramProperty().get();
        assertThat(a.shape().toString()).isEqualTo("[32, 64]");
        assertThat(a.blocks()).hasSize(8);
        // Expert-major rows: expert 2's w3 ranks come after its w1 ranks, at 2·8 + 4.
        ShapeDiagram.Block w3 = a.blocks().stream().filter(b -> b.label().equals("experts.2.w3.lora_A")).findFirst()
                .orElseThrow();
        assertThat(w3.start()).containsExactly(20, 0);
        assertThat(w3.extent()).containsExactly(4, 64);
        // The colour of the weight it adapts.
        assertThat(a.roles().get(w3.role())).isEqualTo("w3");
        assertThat(a.note()).endsWith("\nrank 4 → 8, alpha 8 → 16 (scale 2)");
        vm.selectedProperty().set(row(vm, "base_model.model.model.layers.0.mlp.experts.base_layer.lora_B.weight"));
        ShapeDiagram b = vm.diagramProperty().get();
        // Rank-major columns k·4 + e: expert 1's w1 B lands in columns 1, 5, 9, 13 of the gate rows.
        assertThat(b.blocks()).hasSize(32);
        assertThat(b.blocks().stream().filter(x -> x.label().equals("experts.1.w1.lora_B")).map(x -> x.start(1)))
                .containsExactly(1L, 5L, 9L, 13L);
        assertThat(b.blocks()).filteredOn(x -> x.label().equals("experts.1.w3.lora_B"))
                .allSatisfy(x -> assertThat(x.start(0)).isEqualTo(96));
    }

    @Test
    void anAdapterThatPeftWouldScaleWrongSaysSoAtTheTop() {
        MappingViewModel vm = open(Fixtures.tiny("legacy-base"), Fixtures.tiny("legacy-lora-attn_experts_rslora"));
        assertThat(vm.messages()).first().satisfies(m -> {
            assertThat(m.kind()).isEqualTo(PlanMessage.Kind.PEFT_PROBLEM);
            assertThat(m.text()).startsWith("PEFT check: PEFT 0.21 would load it without an error, but")
                    .contains("\n• ").contains("√2");
        });
    }

    @Test
    void anAdapterWithNothingToConvertSaysSoAtTheTop() throws Exception {
        Path adapter = AttentionOnlyAdapter.write(temp.resolve("attention-only"));
        MappingViewModel vm = open(Fixtures.tiny("legacy-base"), adapter);
        assertThat(vm.messages()).first().satisfies(m -> {
            assertThat(m.kind()).isEqualTo(PlanMessage.Kind.PEFT_FINE);
            assertThat(m.text()).contains("would load it exactly").contains("nothing to convert");
        });
        assertThat(vm.messages()).anySatisfy(m -> assertThat(m.text()).contains("Nothing to convert"));
    }

    @Test
    void showInTreesSelectsTheTargetOnTheV5Side() {
        MappingViewModel vm = open(Fixtures.tiny("legacy-base"));
        vm.showInTrees(row(vm, "model.layers.1.mlp.experts.down_proj"));
        assertThat(main.trees().getSelected().side()).isEqualTo(Side.V5);
        assertThat(main.trees().getSelected().path()).isEqualTo("model.layers.1.mlp.experts.down_proj");
        assertThat(main.trees().counterparts()).hasSize(4);
    }

    @Test
    void aV5CheckpointMapsBackToLegacy() {
        MappingViewModel vm = open(Fixtures.tiny("v5-base.float32.safetensors"));
        assertThat(vm.summaryProperty().get()).contains("v5 → legacy");
        assertThat(vm.shownRows()).hasSize(41);
        assertThat(row(vm, "model.layers.0.block_sparse_moe.experts.3.w1.weight").kind()).isEqualTo("split");
    }
}
