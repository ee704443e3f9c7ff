package dev.fusebox.viewmodel.browse;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The two trees and their linked selection, on the tiny fixture: its legacy checkpoint on the left and the v5 state
 * dict transformers built from it on the right, linked by Mixtral's rule written out here by hand (I = 96, E = 4).
 */
class TreesViewModelTest {

    private static final Pattern EXPERT = Pattern.compile(
            "model\\.layers\\.(\\d+)\\.block_sparse_moe\\.experts\\.(\\d+)\\.(w[123])\\.weight");

    private Checkpoint legacy;
    private Checkpoint v5;
    private final TreesViewModel vm = new TreesViewModel();

    @BeforeEach
    void open() throws FuseboxException {
        legacy = Checkpoint.open(Fixtures.tiny("legacy-base"));
        v5 = Checkpoint.open(Fixtures.tiny("v5-base.float32.safetensors"));
        TreeRow left = TreeRows.build(Side.LEGACY, "mixtral", legacy.modelConfig(), legacy.specs(), List.of(),
                legacy.tensors());
        TreeRow right = TreeRows.build(Side.V5, "mixtral", legacy.modelConfig(), v5.specs(), List.of(), Map.of());
        vm.show(left, "opened", right, "planned", mixtralRule());
    }

    @AfterEach
    void close() {
        legacy.close();
        v5.close();
    }

    /** Both directions of the Mixtral rule for the fixture's keys. */
    private TensorLinks mixtralRule() {
        Map<String, List<TensorLink>> links = new HashMap<>();
        for (String key : legacy.tensors().keySet()) {
            Matcher m = EXPERT.matcher(key);
            String target;
            String region;
            if (m.matches()) {
                String layer = m.group(1);
                int e = Integer.parseInt(m.group(2));
                String w = m.group(3);
                target = "model.layers." + layer + ".mlp.experts." + (w.equals("w2") ? "down_proj" : "gate_up_proj");
                region = switch (w) {
                    case "w1" -> "[" + e + ", 0:96]";
                    case "w3" -> "[" + e + ", 96:192]";
                    default -> "[" + e + "]";
                };
            } else {
                target = key.replace(".block_sparse_moe.", ".mlp.");
                region = "";
            }
            links.computeIfAbsent(key, k -> new ArrayList<>()).add(new TensorLink(target, region));
            links.computeIfAbsent(target, k -> new ArrayList<>()).add(new TensorLink(key, region));
        }
        return (side, key) -> links.getOrDefault(key, List.of());
    }

    private TreeRow row(Side side, String path) {
        TreeRow r = find(vm.rootProperty(side).get(), path);
        assertThat(r).as(path).isNotNull();
        return r;
    }

    private static TreeRow find(TreeRow r, String path) {
        if ((r.path().equals(path) && !r.isTensor()) || (r.isTensor() && r.path().equals(path))) {
            return r;
        }
        for (TreeRow c : r.children()) {
            TreeRow f = find(c, path);
            if (f != null) {
                return f;
            }
        }
        return null;
    }

    @Test
    void aModuleShowsTheDtypeItsTensorsShareOrMixed() throws FuseboxException {
        assertThat(vm.rootProperty(Side.LEGACY).get().dtypeText()).isEqualTo("F32");
        try (Checkpoint fp8 = Checkpoint.open(Fixtures.fp8("legacy"))) {
            TreeRow root = TreeRows.build(Side.LEGACY, fp8.modelType(), fp8.modelConfig(), fp8.specs(), List.of(),
                    fp8.tensors());
            assertThat(root.dtypeText()).isEqualTo("mixed");
            TreeRow norm = root.tensors().stream().filter(t -> t.path().equals("model.layers.0.input_layernorm.weight"))
                    .findFirst().orElseThrow().parent().orElseThrow();
            assertThat(norm.dtypeText()).isEqualTo("BF16");
            TreeRow gate = root.tensors().stream().filter(t -> t.path().equals(
                    "model.layers.0.mlp.experts.0.gate_proj.weight")).findFirst().orElseThrow().parent().orElseThrow();
            assertThat(gate.dtypeText()).as("F8_E4M3 weight, F32 scale").isEqualTo("mixed");
            TreeRow scale = gate.children().stream().filter(c -> c.name().equals("weight_scale_inv")).findFirst()
                    .orElseThrow();
            assertThat(scale.dtypeText()).isEqualTo("F32");
        }
    }

    @Test
    void eachModuleShowsItsTensorsWithShapeDtypeAndSize() {
        TreeRow w1 = row(Side.LEGACY, "model.layers.0.block_sparse_moe.experts.1.w1");
        assertThat(w1.type()).isEqualTo("Linear(in_features=64, out_features=96, bias=False)");
        TreeRow weight = w1.children().getFirst();
        assertThat(weight.name()).isEqualTo("weight");
        assertThat(weight.shapeText()).isEqualTo("[96, 64]");
        assertThat(weight.dtypeText()).isEqualTo("F32");
        assertThat(weight.bytes()).isEqualTo(96 * 64 * 4);
        assertThat(weight.stored()).isPresent();
        TreeRow fused = row(Side.V5, "model.layers.0.mlp.experts.gate_up_proj");
        assertThat(fused.shapeText()).isEqualTo("[4, 192, 64]");
        assertThat(fused.stored()).isEmpty();
        assertThat(vm.rootProperty(Side.LEGACY).get().bytes()).isEqualTo(legacy.tensorBytes());
    }

    @Test
    void anExpertsW1SelectsItsSliceOfTheFusedTensor() {
        vm.select(row(Side.LEGACY, "model.layers.0.block_sparse_moe.experts.1.w1"));
        assertThat(vm.counterparts()).containsExactly(row(Side.V5, "model.layers.0.mlp.experts.gate_up_proj"));
        assertThat(vm.links()).singleElement().extracting(RowLink::label).isEqualTo("[1, 0:96]");
    }

    @Test
    void theFusedTensorSelectsEveryW1AndW3ItComesFrom() {
        vm.select(row(Side.V5, "model.layers.1.mlp.experts.gate_up_proj"));
        assertThat(vm.counterparts()).extracting(TreeRow::path).containsExactly(
                "model.layers.1.block_sparse_moe.experts.0.w1.weight",
                "model.layers.1.block_sparse_moe.experts.0.w3.weight",
                "model.layers.1.block_sparse_moe.experts.1.w1.weight",
                "model.layers.1.block_sparse_moe.experts.1.w3.weight",
                "model.layers.1.block_sparse_moe.experts.2.w1.weight",
                "model.layers.1.block_sparse_moe.experts.2.w3.weight",
                "model.layers.1.block_sparse_moe.experts.3.w1.weight",
                "model.layers.1.block_sparse_moe.experts.3.w3.weight");
        assertThat(vm.links()).extracting(RowLink::label).startsWith("[0, 0:96]", "[0, 96:192]");
    }

    @Test
    void anExpertLinksToBothFusedTensorsWithItsSlices() {
        vm.select(row(Side.LEGACY, "model.layers.0.block_sparse_moe.experts.2"));
        assertThat(vm.links()).extracting(l -> l.to().name() + " " + l.label()).containsExactly(
                "gate_up_proj [2, 0:96] + [2, 96:192]", "down_proj [2]");
    }

    @Test
    void aWholeLayerLinksToTheLayerThatHoldsItsCounterparts() {
        vm.select(row(Side.LEGACY, "model.layers.1"));
        assertThat(vm.counterparts()).containsExactly(row(Side.V5, "model.layers.1"));
        vm.select(row(Side.V5, "model.layers.0.mlp.experts"));
        assertThat(vm.counterparts()).containsExactly(row(Side.LEGACY, "model.layers.0.block_sparse_moe.experts"));
    }

    @Test
    void tensorsThatKeepTheirBytesLinkOneToOne() {
        vm.select(row(Side.LEGACY, "model.layers.0.block_sparse_moe.gate.weight"));
        assertThat(vm.counterparts()).containsExactly(row(Side.V5, "model.layers.0.mlp.gate.weight"));
        assertThat(vm.links()).singleElement().extracting(RowLink::label).isEqualTo("");
    }

    @Test
    void clearingTheSelectionRemovesTheLinks() {
        vm.select(row(Side.LEGACY, "model.layers.0.block_sparse_moe.experts.1.w1"));
        vm.select(null);
        assertThat(vm.links()).isEmpty();
        assertThat(vm.counterparts()).isEmpty();
    }

    @Test
    void adapterTensorsSitUnderTheModuleTheyModify() throws FuseboxException {
        try (Checkpoint adapter = Checkpoint.open(Fixtures.tiny("legacy-lora-attn_experts"))) {
            TreeRow root = TreeRows.build(Side.LEGACY, "mixtral", legacy.modelConfig(), legacy.specs(),
                    adapter.specs(), adapter.tensors());
            TreeRow w2 = find(root, "model.layers.1.block_sparse_moe.experts.3.w2");
            assertThat(w2.children()).extracting(r -> r.name() + " " + r.kind() + " " + r.shapeText())
                    .containsExactly("weight TENSOR [64, 96]", "lora_A.weight ADAPTER_TENSOR [4, 96]",
                            "lora_B.weight ADAPTER_TENSOR [64, 4]");
            assertThat(find(root, "model.layers.0.self_attn.q_proj").children()).hasSize(3);
        }
    }

    @Test
    void searchJumpsToTheFirstRowWhoseKeyOrModulePathHoldsTheQueryAndWalksTheMatchesRound() {
        TreeSearch search = vm.search();
        search.queryProperty().set("Layers.1.block_sparse_moe.experts.3");
        String expert = "model.layers.1.block_sparse_moe.experts.3";
        assertThat(search.matchesProperty().get()).extracting(TreeRow::path).containsExactly(expert,
                expert + ".w1", expert + ".w1.weight", expert + ".w2", expert + ".w2.weight", expert + ".w3",
                expert + ".w3.weight", expert + ".act_fn");
        assertThat(search.statusProperty().get()).isEqualTo("1 of 8");
        assertThat(vm.getSelected()).isSameAs(row(Side.LEGACY, expert));
        assertThat(vm.counterparts()).extracting(TreeRow::path).containsExactly(
                "model.layers.1.mlp.experts.gate_up_proj", "model.layers.1.mlp.experts.down_proj");
        search.next();
        assertThat(vm.getSelected().path()).isEqualTo(expert + ".w1");
        search.previous();
        search.previous();
        assertThat(vm.getSelected().path()).isEqualTo(expert + ".act_fn");
        assertThat(search.statusProperty().get()).isEqualTo("8 of 8");
        assertThat(search.matches(row(Side.LEGACY, expert + ".w2"))).isTrue();
        assertThat(search.matches(row(Side.LEGACY, "model.layers.1.block_sparse_moe.experts.2"))).isFalse();
    }

    @Test
    void searchLooksInBothTreesLegacyFirstAndSaysWhenNothingMatches() {
        TreeSearch search = vm.search();
        search.queryProperty().set("layers.0.mlp.experts.down_proj");
        assertThat(search.matchesProperty().get()).extracting(TreeRow::side, TreeRow::path).containsExactly(
                org.assertj.core.groups.Tuple.tuple(Side.V5, "model.layers.0.mlp.experts.down_proj"));
        assertThat(vm.counterparts()).hasSize(4);
        search.queryProperty().set("layers.0.self_attn.q_proj.weight");
        assertThat(search.matchesProperty().get()).extracting(TreeRow::side).containsExactly(Side.LEGACY, Side.V5);
        search.queryProperty().set("no such module");
        assertThat(search.statusProperty().get()).isEqualTo("no match");
        assertThat(search.matchesProperty().get()).isEmpty();
        search.next();
        search.queryProperty().set("");
        assertThat(search.statusProperty().get()).isEmpty();
        search.queryProperty().set("q_proj");
        vm.clear();
        assertThat(search.queryProperty().get()).isEmpty();
        assertThat(search.matchesProperty().get()).isEmpty();
    }

    @Test
    void rowsCountTheirParametersAsTheHubDoesAndCopyTheirKeyModulePathAndShape() {
        // The tiny Mixtral: hidden 64, intermediate 96, 4 experts; w1 is [96, 64].
        TreeRow w1 = row(Side.LEGACY, "model.layers.0.block_sparse_moe.experts.1.w1.weight");
        assertThat(w1.parameters()).isEqualTo(96 * 64);
        assertThat(w1.parametersText()).isEqualTo("6.14 K");
        TreeRow expert = row(Side.LEGACY, "model.layers.0.block_sparse_moe.experts.1");
        assertThat(expert.parameters()).isEqualTo(3 * 96 * 64);
        TreeRow fused = row(Side.V5, "model.layers.0.mlp.experts.gate_up_proj");
        assertThat(fused.parameters()).isEqualTo(4 * 2 * 96 * 64);
        long all = legacy.specs().stream().mapToLong(t -> t.shape().elementCount()).sum();
        assertThat(vm.rootProperty(Side.LEGACY).get().parameters()).isEqualTo(all);
        assertThat(w1.copyTexts()).containsExactly(
                java.util.Map.entry("Copy key", "model.layers.0.block_sparse_moe.experts.1.w1.weight"),
                java.util.Map.entry("Copy module path", "model.layers.0.block_sparse_moe.experts.1.w1"),
                java.util.Map.entry("Copy shape", "[96, 64]"));
        assertThat(expert.copyTexts()).containsExactly(
                java.util.Map.entry("Copy module path", "model.layers.0.block_sparse_moe.experts.1"));
        assertThat(vm.rootProperty(Side.LEGACY).get().copyTexts()).isEmpty();
    }

    @Test
    void largeCountsReadAsTheHubWritesThem() {
        assertThat(TreeRow.compact(512)).isEqualTo("512");
        assertThat(TreeRow.compact(1000)).isEqualTo("1.00 K");
        assertThat(TreeRow.compact(46_702_792_704L)).isEqualTo("46.7 B");
        assertThat(TreeRow.compact(671_026_419_200L)).isEqualTo("671 B");
        assertThat(TreeRow.compact(999_999)).isEqualTo("1.00 M");
    }
}
