package dev.fusebox.viewmodel.diff;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.convert.DiffSummary;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.FloatCodec;
import dev.fusebox.testsupport.Fixtures;
import dev.fusebox.viewmodel.main.FakeDialogs;
import dev.fusebox.viewmodel.main.MainViewModel;
import dev.fusebox.viewmodel.main.Opened;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The diff screen's two trees on fixture pairs: a checkpoint and transformers' conversion of it are the same
 * everywhere; against a copy with one expert's up projection of one layer changed, exactly that expert's rows
 * differ, with ‖δ‖ / ‖w3‖ computed here from the legacy fixture's own w3; against the base with a LoRA adapter
 * merged (by PEFT), exactly the modules the adapter targets.
 */
class DiffTreesTest {

    private static final Path LEGACY = Fixtures.tiny("legacy-base");
    private static final Path V5 = Fixtures.tiny("v5-base.float32.safetensors");
    private static final String W3 = "model.layers.1.block_sparse_moe.experts.2.w3.weight";
    private static final String GATE_UP = "model.layers.1.mlp.experts.gate_up_proj";

    @TempDir
    Path temp;

    private final FakeDialogs dialogs = new FakeDialogs();
    private MainViewModel main;
    private double expectedRelative;
    private double expectedMax;
    private long changedElements;

    @AfterEach
    void close() {
        main.close();
    }

    private DiffViewModel compared(Path a, Path b) {
        main = Opened.with(temp, dialogs, a);
        DiffViewModel vm = main.diff();
        vm.compareWithDropped(List.of(b));
        vm.compareValues();
        return vm;
    }

    @Test
    void aCheckpointAndItsConversionAreTheSameInEveryRowOfBothTrees() {
        DiffViewModel vm = compared(LEGACY, V5);
        DiffTrees t = vm.treesProperty().get();
        assertThat(t.a().leaves()).hasSize(41).allSatisfy(n -> {
            assertThat(n.state()).isEqualTo(DiffState.SAME);
            assertThat(n.difference()).hasValueSatisfying(d -> assertThat(d.identical()).isTrue());
        });
        assertThat(t.b().leaves()).extracting(DiffNode::key).contains(GATE_UP);
        assertThat(t.b().leaves()).allSatisfy(n -> assertThat(n.state()).isEqualTo(DiffState.SAME));
        assertThat(t.a().differs()).isFalse();
        assertThat(t.a().detail()).isEqualTo("all 41 same");
        assertThat(Figures.relative(t.a().difference().orElseThrow())).isEqualTo("0");
        // The legacy w3 of one expert is a part of the v5 gate_up_proj, and the other way round.
        vm.select(leaf(t.a(), W3));
        assertThat(vm.selection()).extracting(DiffNode::inA, DiffNode::key).containsExactly(part(true, W3),
                part(false, W3));
        assertThat(vm.links()).extracting(l -> l.a().key(), l -> l.b().key()).containsExactly(part(W3, W3));
        DiffNode w3InB = vm.selection().get(1);
        assertThat(w3InB.kind()).isEqualTo(DiffNode.Kind.PART);
        assertThat(w3InB.description()).isEqualTo("[2, 96:192, :]");
        assertThat(w3InB.parent().orElseThrow().key()).isEqualTo(GATE_UP);
        vm.select(leaf(t.b(), GATE_UP));
        assertThat(vm.selection()).first().extracting(DiffNode::key).isEqualTo(GATE_UP);
        assertThat(vm.selection()).extracting(DiffNode::key).contains(W3, W3.replace("w3", "w1"));
    }

    @Test
    void withOneExpertChangedExactlyThatExpertsRowsDifferByTheRightFigure() throws Exception {
        Path perturbed = perturbed();
        DiffViewModel vm = compared(V5, perturbed);
        DiffTrees t = vm.treesProperty().get();
        for (DiffNode root : List.of(t.a(), t.b())) {
            List<DiffNode> differing = root.leaves().stream().filter(DiffNode::differs).toList();
            assertThat(differing).extracting(DiffNode::kind, DiffNode::key).containsExactly(
                    org.assertj.core.groups.Tuple.tuple(DiffNode.Kind.TENSOR, GATE_UP),
                    org.assertj.core.groups.Tuple.tuple(DiffNode.Kind.PART, W3));
            DiffNode part = differing.get(1);
            assertThat(part.description()).isEqualTo("[2, 96:192, :]");
            assertThat(part.difference().orElseThrow().relative())
                    .isCloseTo(expectedRelative, within(expectedRelative * 1e-9));
            assertThat(part.difference().orElseThrow().maxAbsDiff()).isCloseTo(expectedMax, within(1e-12));
            // Every module above it, and none beside it, says so; the root sums the whole checkpoint.
            for (DiffNode n = part.parent().orElseThrow(); n != null; n = n.parent().orElse(null)) {
                assertThat(n.state()).isEqualTo(DiffState.VALUES);
            }
            assertThat(allModules(root).stream().filter(DiffNode::differs).toList())
                    .allSatisfy(m -> assertThat(m.contains(part)).isTrue());
            assertThat(root.difference().orElseThrow().differingElements()).isEqualTo(changedElements);
        }
        vm.onlyDifferencesProperty().set(true);
        assertThat(vm.shownChildren(t.a())).allSatisfy(n -> assertThat(n.differs()).isTrue()).isNotEmpty();

        List<DiffSummary.Cell> hot = vm.cells().stream().filter(c -> !c.difference().identical()).toList();
        assertThat(hot).extracting(DiffSummary.Cell::layer, DiffSummary.Cell::group)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(1, "expert 2"));
        vm.selectCell(hot.getFirst());
        assertThat(vm.selection()).extracting(DiffNode::inA, DiffNode::key).containsExactlyInAnyOrder(
                part(true, W3.replace("w3", "w1")), part(true, W3.replace("w3", "w2")), part(true, W3),
                part(false, W3.replace("w3", "w1")), part(false, W3.replace("w3", "w2")), part(false, W3));
        // Each of the expert's weights in A is linked to its slice in B, and to nothing else.
        assertThat(vm.links()).extracting(l -> l.a().key(), l -> l.b().key()).containsExactlyInAnyOrder(
                part(W3.replace("w3", "w1"), W3.replace("w3", "w1")), part(W3.replace("w3", "w2"),
                        W3.replace("w3", "w2")), part(W3, W3));
        vm.select(null);
        assertThat(vm.links()).isEmpty();
    }

    @Test
    void legacyRowsReadAgainstAChangedV5CheckpointShowTheOneTensorThatDiffers() throws Exception {
        Path perturbed = perturbed();
        DiffViewModel vm = compared(perturbed, LEGACY);
        DiffTrees t = vm.treesProperty().get();
        List<DiffNode> differing = t.b().leaves().stream().filter(DiffNode::differs).toList();
        assertThat(differing).extracting(DiffNode::key).containsExactly(W3);
        // A holds the changed values here, so ‖a‖ is the changed w3's: close to, not exactly, the legacy one's.
        assertThat(differing.getFirst().difference().orElseThrow().relative())
                .isCloseTo(expectedRelative, within(expectedRelative * 1e-4));
        vm.select(differing.getFirst());
        assertThat(vm.selection()).extracting(DiffNode::inA, DiffNode::key)
                .containsExactly(part(false, W3), part(true, W3));
    }

    @Test
    void aBaseAgainstItsMergedAdapterDiffersInExactlyTheAdaptersModules() {
        DiffViewModel vm = compared(V5, Fixtures.tiny("v5-merged-attn_experts.float32.safetensors"));
        DiffTrees t = vm.treesProperty().get();
        // The attn_experts adapter targets q/k/v/o and the experts: those tensors differ, nothing else does.
        assertThat(t.a().leaves().stream().filter(n -> n.kind() == DiffNode.Kind.TENSOR && n.differs())
                .map(DiffNode::key).toList()).hasSize(12).allMatch(k -> k.matches(
                        "model\\.layers\\.[01]\\.(self_attn\\.[qkvo]_proj\\.weight|mlp\\.experts\\.(gate_up|down)_proj)"));
        DiffNode layer0 = module(t.a(), "model.layers.0");
        assertThat(module(t.a(), "model.layers.0.self_attn").state()).isEqualTo(DiffState.VALUES);
        assertThat(module(t.a(), "model.layers.0.mlp.gate").state()).isEqualTo(DiffState.SAME);
        assertThat(module(t.a(), "model.embed_tokens").state()).isEqualTo(DiffState.SAME);
        assertThat(layer0.detail()).isEqualTo("6 of 9 differ");
        assertThat(layer0.difference().orElseThrow().relative()).isPositive();
    }

    private static DiffNode module(DiffNode root, String path) {
        return allModules(root).stream().filter(m -> m.key().equals(path)).findFirst().orElseThrow();
    }

    private static org.assertj.core.groups.Tuple part(Object first, String key) {
        return org.assertj.core.groups.Tuple.tuple(first, key);
    }

    private static DiffNode leaf(DiffNode root, String key) {
        return root.leaves().stream().filter(n -> n.kind() == DiffNode.Kind.TENSOR && n.key().equals(key))
                .findFirst().orElseThrow();
    }

    private static List<DiffNode> allModules(DiffNode root) {
        List<DiffNode> out = new java.util.ArrayList<>();
        java.util.ArrayDeque<DiffNode> todo = new java.util.ArrayDeque<>(List.of(root));
        while (!todo.isEmpty()) {
            DiffNode n = todo.pop();
            if (n.kind() == DiffNode.Kind.MODULE) {
                out.add(n);
            }
            todo.addAll(n.children());
        }
        return out;
    }

    /** The v5 fixture with δ_k = (k % 7 − 3) · 1e-3 added to the first 500 elements of layer 1 expert 2's w3. */
    private Path perturbed() throws Exception {
        Path out = temp.resolve("perturbed.safetensors");
        Files.copy(V5, out);
        double normW3;
        long intermediate;
        try (Checkpoint legacy = Checkpoint.open(LEGACY)) {
            StoredTensor w3 = legacy.tensor(W3).orElseThrow();
            intermediate = w3.shape().dim(0);
            MemorySegment data = w3.data();
            double sum = 0;
            for (long i = 0; i < w3.shape().elementCount(); i++) {
                double v = FloatCodec.get(data, Dtype.F32, i);
                sum += v * v;
            }
            normW3 = Math.sqrt(sum);
        }
        long offset;
        long hidden;
        try (Checkpoint v5 = Checkpoint.open(out)) {
            StoredTensor gateUp = v5.tensor(GATE_UP).orElseThrow();
            offset = gateUp.fileOffset();
            hidden = gateUp.shape().dim(2);
        }
        long first = (2 * 2 * intermediate + intermediate) * hidden;
        ByteBuffer b = ByteBuffer.allocate(500 * 4).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long at = offset + first * 4;
            ch.read(b, at);
            double sumSq = 0;
            for (int k = 0; k < 500; k++) {
                float old = b.getFloat(k * 4);
                float now = (float) (old + (k % 7 - 3) * 1e-3);
                b.putFloat(k * 4, now);
                double d = (double) now - old;
                sumSq += d * d;
                expectedMax = Math.max(expectedMax, Math.abs(d));
                changedElements += now != old ? 1 : 0;
            }
            ch.write(b.flip(), at);
            expectedRelative = Math.sqrt(sumSq) / normW3;
        }
        return out;
    }
}
