package dev.fusebox.converter.forward;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.sample.SamplePreset;
import dev.fusebox.converter.sample.SampleWriter;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.IntStream;

/**
 * The forward-pass benchmark behind bench/forward.sh (a main, not a test): a 16-token pass on the seed preset
 * (written once into the directory given), with the Vector API kernel and the scalar one, against the time it
 * takes to read the same weight bytes once from memory.
 */
public final class ForwardBenchmark {

    private static final int REPEATS = 15;
    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    private ForwardBenchmark() {
    }

    /** Arguments: the directory for the samples, then {@code timing}, {@code precision} or nothing for both. */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "bench/work/forward");
        String part = args.length > 1 ? args[1] : "all";
        if (!part.equals("precision")) {
            timing(dir);
        }
        if (!part.equals("timing")) {
            storagePrecision(dir);
        }
    }

    private static void timing(Path dir) throws Exception {
        Path model = dir.resolve("seed");
        if (!Files.isDirectory(model)) {
            System.out.println("writing the seed sample to " + model + " ...");
            new SampleWriter(SamplePreset.SEED, 1).write(model, true, SampleWriter.DEFAULT_MAX_SHARD_BYTES,
                    ProgressListener.NONE, Cancellation.NEVER);
        }
        Path adapter = SampleWriter.adapterDirectory(model);
        int cores = Runtime.getRuntime().availableProcessors();
        System.out.printf(Locale.ROOT, "%d cores, %s, %s; 16 tokens, seed preset%n", cores,
                System.getProperty("java.vm.name"), System.getProperty("java.vm.version"));
        try (Checkpoint c = Checkpoint.open(model); Checkpoint a = Checkpoint.open(adapter)) {
            int[] tokens = Verifier.defaultTokens(32000).stream().mapToInt(Integer::intValue).toArray();
            List<Kernel> kernels = new ArrayList<>();
            Kernel.vector().ifPresent(kernels::add);
            kernels.add(Kernel.scalar());
            long bytesRead = 0;
            for (Optional<Checkpoint> withAdapter : List.of(Optional.<Checkpoint>empty(), Optional.of(a))) {
                ModelWeights w = ModelWeights.open(c, c.config().orElseThrow(), withAdapter);
                for (Kernel kernel : kernels) {
                    ForwardPass forward = new ForwardPass(w, kernel);
                    int repeats = kernel instanceof VectorKernel ? REPEATS : 5;
                    long[] nanos = new long[repeats];
                    long[] cpu = new long[repeats];
                    ForwardResult r = null;
                    for (int i = 0; i < repeats; i++) {
                        long cpuBefore = OS.getProcessCpuTime();
                        r = forward.run(tokens, w.dims().layers(), ProgressListener.NONE, Cancellation.NEVER);
                        cpu[i] = OS.getProcessCpuTime() - cpuBefore;
                        nanos[i] = r.nanos();
                    }
                    long first = nanos[0];
                    long[] warm = Arrays.copyOfRange(nanos, 1, repeats);
                    long[] warmCpu = Arrays.copyOfRange(cpu, 1, repeats);
                    Arrays.sort(warm);
                    Arrays.sort(warmCpu);
                    System.out.printf(Locale.ROOT, "%-7s %-10s first %6.0f ms, then median %5.0f ms, best %5.0f ms, "
                                    + "median CPU time %5.0f ms; read %.1f MiB%n",
                            withAdapter.isPresent() ? "+ LoRA" : "base", kernel.name(), first / 1e6,
                            warm[warm.length / 2] / 1e6, warm[0] / 1e6, warmCpu[warmCpu.length / 2] / 1e6,
                            r.weightBytesRead() / 1048576.0);
                    bytesRead = Math.max(bytesRead, r.weightBytesRead());
                }
            }
            double mapped = mappedBandwidth(c);
            double heap = heapBandwidth();
            System.out.printf(Locale.ROOT, "memory read bandwidth, %d threads: mapped weights %.1f GB/s, heap array "
                    + "%.1f GB/s%n", cores, mapped / 1e9, heap / 1e9);
            System.out.printf(Locale.ROOT, "reading %.1f MiB once takes %.0f ms at the mapped rate, %.0f ms at the "
                    + "heap rate%n", bytesRead / 1048576.0, bytesRead / mapped * 1e3, bytesRead / heap * 1e3);
            System.out.printf(Locale.ROOT, "weights in the file: %.1f MiB%n", c.tensorBytes() / 1048576.0);
        }
    }

    /**
     * How far merging the sample adapter and storing the result in the weights' dtype moves the logits: what a
     * verification tolerance for that dtype must admit (docs/design.md §4 asks 1e-4 for float32).
     */
    private static void storagePrecision(Path dir) throws Exception {
        System.out.println("adapter merged and re-rounded to the storage dtype, against base + adapter unmerged:");
        for (Dtype dtype : List.of(Dtype.F32, Dtype.F16, Dtype.BF16)) {
            Path model = dir.resolve("seed-" + dtype.name().toLowerCase(Locale.ROOT));
            if (!Files.isDirectory(model)) {
                new SampleWriter(SamplePreset.SEED, 1, dtype).write(model, true, SampleWriter.DEFAULT_MAX_SHARD_BYTES,
                        ProgressListener.NONE, Cancellation.NEVER);
            }
            Path adapter = SampleWriter.adapterDirectory(model);
            Path merged = dir.resolve("merged-" + dtype.name().toLowerCase(Locale.ROOT));
            if (!Files.isDirectory(merged)) {
                MergedCheckpoint.write(model, adapter, merged);
            }
            VerificationReport r = new Verifier().verify(VerificationRequest.of(model, Optional.of(adapter), merged,
                    Optional.empty()), ProgressListener.NONE, Cancellation.NEVER);
            double hidden = r.layers().stream().mapToDouble(VerificationReport.LayerComparison::maxAbsDiff).max()
                    .orElse(0);
            float maxLogit = 0;
            for (float[] row : r.sourceLogits()) {
                for (float v : row) {
                    maxLogit = Math.max(maxLogit, Math.abs(v));
                }
            }
            System.out.printf(Locale.ROOT, "  %-4s logits max|Δ| %.3g (largest |logit| %.1f), hidden max|Δ| %.3g, "
                            + "top-1 %d/16, routers %d/%d, tolerance %s → %s%n", dtype, r.maxAbsDiff(), maxLogit,
                    hidden, r.top1Agreement(), r.routerAgreement(), r.routerDecisions(), r.tolerance(),
                    r.passed() ? "pass" : "FAIL (" + String.join("; ", r.failures()) + ")");
        }
    }

    /** Bytes per second summing every weight of the checkpoint as longs, split over the cores; best of 5. */
    private static double mappedBandwidth(Checkpoint c) throws Exception {
        List<MemorySegment> segments = new ArrayList<>();
        long total = 0;
        for (StoredTensor t : c.tensors().values()) {
            segments.add(t.data());
            total += t.byteSize();
        }
        double best = 0;
        for (int rep = 0; rep < 5; rep++) {
            long start = System.nanoTime();
            long sum = segments.parallelStream().mapToLong(ForwardBenchmark::sumLongs).sum();
            long nanos = System.nanoTime() - start;
            best = Math.max(best, total / (nanos / 1e9));
            if (sum == 42) {
                System.out.println();
            }
        }
        return best;
    }

    private static long sumLongs(MemorySegment s) {
        long n = s.byteSize() / 8;
        long sum = 0;
        for (long i = 0; i < n; i++) {
            sum += s.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i);
        }
        return sum;
    }

    /** Bytes per second summing a 512 MiB long array, split over the cores; best of 5. */
    private static double heapBandwidth() {
        long[] data = new long[64 << 20];
        Arrays.setAll(data, i -> i);
        int parts = Runtime.getRuntime().availableProcessors();
        double best = 0;
        for (int rep = 0; rep < 5; rep++) {
            long start = System.nanoTime();
            long sum = IntStream.range(0, parts).parallel().mapToLong(p -> {
                long s = 0;
                for (int i = data.length / parts * p, end = data.length / parts * (p + 1); i < end; i++) {
                    s += data[i];
                }
                return s;
            }).sum();
            long nanos = System.nanoTime() - start;
            best = Math.max(best, data.length * 8.0 / (nanos / 1e9));
            if (sum == 42) {
                System.out.println();
            }
        }
        return best;
    }
}
