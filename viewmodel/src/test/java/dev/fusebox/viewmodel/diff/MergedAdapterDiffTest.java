package dev.fusebox.viewmodel.diff;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.convert.ConversionRequest;
import dev.fusebox.converter.convert.Conversions;
import dev.fusebox.converter.convert.ConvertOptions;
import dev.fusebox.converter.convert.Difference;
import dev.fusebox.converter.convert.PlannedConversion;
import dev.fusebox.converter.lora.AdapterDeltaNorms;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.rules.RuleBook;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The legacy fixture against itself with PEFT's experts_gate adapter merged by {@code convert --merge-adapter} (to
 * v5, so B is read back in A's layout): exactly the adapter's weights differ, each by its delta. The truth is the
 * dense {@code scale · B @ A} computed here, in double, from the adapter's own factors and config; the merged file
 * rounds {@code w + δ} once to float32, so the diff's ‖a − b‖ and max |a − b| may miss ‖δ‖ and max |δ| by at most
 * 2⁻²⁴ of the merged weight's norm and largest element. AdapterDeltaNorms' ‖scale · B @ A‖, from r × r Gram
 * matrices, and its ‖scale · B @ A‖ / ‖W‖ with the base read are held to the dense figures in double precision.
 */
class MergedAdapterDiffTest {

    private static final Path BASE = Fixtures.tiny("legacy-base");
    private static final Path V5_BASE = Fixtures.tiny("v5-base.float32.safetensors");
    private static final Path ADAPTER = Fixtures.tiny("legacy-lora-experts_gate");
    private static final double ROUNDING = Math.scalb(1.0, -24);

    @TempDir
    Path temp;

    private final FakeDialogs dialogs = new FakeDialogs();
    private MainViewModel main;

    @AfterEach
    void close() {
        main.close();
    }

    /** What the test computes of one weight: ‖w‖, ‖δ‖, max |δ|, ‖w + δ‖ and max |w + δ|. */
    private record Dense(double normW, double normDelta, double maxDelta, double normMerged, double maxMerged) {
    }

    @Test
    void aBaseAgainstItsMergedAdapterDiffersInExactlyTheAdaptersWeightsEachByItsDelta() throws Exception {
        Path merged = temp.resolve("merged");
        try (Checkpoint base = Checkpoint.open(BASE)) {
            PlannedConversion p = Conversions.plan(base,
                    ConversionRequest.DEFAULT.withMergeAdapter(Optional.of(ADAPTER)));
            Conversions.execute(base, p.plan(), merged, ConvertOptions.DEFAULTS, ProgressListener.NONE,
                    Cancellation.NEVER);
        }
        Map<String, Dense> dense = dense();
        // w1, w2 and w3 of each of 4 experts and the router, in each of 2 layers.
        assertThat(dense).hasSize(2 * (4 * 3 + 1));

        main = Opened.with(temp, dialogs, BASE);
        DiffViewModel vm = main.diff();
        vm.compareWithDropped(List.of(merged));
        vm.compareValues();
        DiffTrees t = vm.treesProperty().get();
        assertThat(vm.summaryProperty().get()).startsWith("Same layout, different values").contains("B read");

        Map<String, Difference> differing = t.a().leaves().stream().filter(DiffNode::differs)
                .collect(Collectors.toMap(DiffNode::key, n -> n.difference().orElseThrow(), (x, y) -> x,
                        TreeMap::new));
        assertThat(differing.keySet()).isEqualTo(dense.keySet());
        assertThat(t.a().leaves()).filteredOn(n -> !dense.containsKey(n.key()))
                .allSatisfy(n -> assertThat(n.state()).isEqualTo(DiffState.SAME));
        differing.forEach((key, d) -> {
            Dense e = dense.get(key);
            double slack = ROUNDING * e.normMerged();
            assertThat(Math.sqrt(d.sumSquaredDiff())).as(key).isCloseTo(e.normDelta(), within(slack));
            assertThat(d.relative()).as(key).isCloseTo(e.normDelta() / e.normW(), within(slack / e.normW()));
            assertThat(d.maxAbsDiff()).as(key).isCloseTo(e.maxDelta(), within(ROUNDING * e.maxMerged()));
            assertThat(Math.sqrt(d.sumSquaredA())).as(key).isCloseTo(e.normW(), within(1e-12 * e.normW()));
        });
        // Each module that holds changed weights says how many, and sums their figures.
        DiffNode expert = t.a().leaves().stream()
                .filter(n -> n.key().equals("model.layers.1.block_sparse_moe.experts.3.w2.weight"))
                .findFirst().orElseThrow().parent().orElseThrow().parent().orElseThrow();
        assertThat(expert.key()).isEqualTo("model.layers.1.block_sparse_moe.experts.3");
        assertThat(expert.detail()).isEqualTo("3 of 3 differ");

        // The Gram-matrix norms agree with the dense ones; the diff's with both, to the merge's rounding. Read
        // against the legacy base or transformers' v5 conversion of it (each weight a slice of a fused tensor),
        // the adapter's relative figure is the dense one, and the merged diff's.
        for (Path model : List.of(BASE, V5_BASE)) {
            try (Checkpoint base = Checkpoint.open(model); Checkpoint adapter = Checkpoint.open(ADAPTER)) {
                assertThat(AdapterDeltaNorms.of(base, adapter, RuleBook.bundled()))
                        .allSatisfy(m -> assertThat(m.relative()).isEmpty());
                List<AdapterDeltaNorms.ModuleDelta> norms = AdapterDeltaNorms.of(base, adapter, RuleBook.bundled(),
                        true);
                assertThat(norms).extracting(AdapterDeltaNorms.ModuleDelta::weight)
                        .containsExactlyInAnyOrderElementsOf(dense.keySet());
                for (AdapterDeltaNorms.ModuleDelta m : norms) {
                    Dense e = dense.get(m.weight());
                    Difference d = differing.get(m.weight());
                    assertThat(m.norm()).as(m.weight()).isCloseTo(e.normDelta(), within(1e-12 * e.normDelta()));
                    assertThat(Math.sqrt(d.sumSquaredDiff())).as(m.weight())
                            .isCloseTo(m.norm(), within(ROUNDING * e.normMerged() + 1e-12 * e.normDelta()));
                    assertThat(m.baseNorm().orElseThrow()).as(m.weight())
                            .isCloseTo(e.normW(), within(1e-12 * e.normW()));
                    double relative = m.relative().orElseThrow();
                    assertThat(relative).as(m.weight())
                            .isCloseTo(e.normDelta() / e.normW(), within(1e-12 * relative));
                    assertThat(d.relative()).as(m.weight())
                            .isCloseTo(relative, within(ROUNDING * e.normMerged() / e.normW() + 1e-12 * relative));
                }
            }
        }
    }

    /** Each weight the adapter changes, by its key in the base: the dense δ = (alpha / r) · B @ A and its figures. */
    private static Map<String, Dense> dense() throws Exception {
        String config = Files.readString(ADAPTER.resolve("adapter_config.json"));
        assertThat(config).contains("\"use_rslora\": false").contains("\"rank_pattern\": {}")
                .contains("\"alpha_pattern\": {}");
        double scale = number(config, "lora_alpha") / number(config, "r");
        Map<String, Dense> out = new TreeMap<>();
        try (Checkpoint adapter = Checkpoint.open(ADAPTER); Checkpoint base = Checkpoint.open(BASE)) {
            for (var spec : adapter.specs()) {
                String key = spec.key();
                if (!key.endsWith(".lora_A.weight")) {
                    continue;
                }
                String module = key.substring("base_model.model.".length(), key.length() - ".lora_A.weight".length());
                StoredTensor at = adapter.tensor(key).orElseThrow();
                StoredTensor bt = adapter.tensor(key.replace(".lora_A.", ".lora_B.")).orElseThrow();
                StoredTensor wt = base.tensor(module + ".weight").orElseThrow();
                int r = (int) at.shape().dim(0);
                int in = (int) at.shape().dim(1);
                int outRows = (int) bt.shape().dim(0);
                assertThat(wt.shape().dim(0)).isEqualTo(outRows);
                assertThat(wt.shape().dim(1)).isEqualTo(in);
                Values a = new Values(at.data(), at.dtype());
                Values b = new Values(bt.data(), bt.dtype());
                Values w = new Values(wt.data(), wt.dtype());
                double sumW = 0, sumDelta = 0, maxDelta = 0, sumMerged = 0, maxMerged = 0;
                for (int i = 0; i < outRows; i++) {
                    for (int j = 0; j < in; j++) {
                        double delta = 0;
                        for (int k = 0; k < r; k++) {
                            delta += b.at((long) i * r + k) * a.at((long) k * in + j);
                        }
                        delta *= scale;
                        double wv = w.at((long) i * in + j);
                        sumW += wv * wv;
                        sumDelta += delta * delta;
                        maxDelta = Math.max(maxDelta, Math.abs(delta));
                        sumMerged += (wv + delta) * (wv + delta);
                        maxMerged = Math.max(maxMerged, Math.abs(wv + delta));
                    }
                }
                out.put(module + ".weight", new Dense(Math.sqrt(sumW), Math.sqrt(sumDelta), maxDelta,
                        Math.sqrt(sumMerged), maxMerged));
            }
        }
        return out;
    }

    /** A tensor's elements, read as doubles. */
    private record Values(MemorySegment data, Dtype dtype) {
        double at(long i) {
            return FloatCodec.get(data, dtype, i);
        }
    }

    private static double number(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":\\s*([0-9.]+)").matcher(json);
        assertThat(m.find()).as(name).isTrue();
        return Double.parseDouble(m.group(1));
    }
}
