package dev.fusebox.converter.forward;

import dev.fusebox.converter.tensor.Dtype;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The forward pass's hot loops as the engine runs them, through the real kernels: one expert projection's matmul
 * ({@link MatMul#apply}, 3584 × 1024 bf16 weights, every row decoded once and dotted with each token, one thread)
 * and a bare dot product of one 1024-wide row, each with {@link ScalarKernel} and {@link VectorKernel}. Forked with
 * the Vector API's module, as the launcher runs verify. Run by bench/kernels.sh; figures in docs/benchmarks.md.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--sun-misc-unsafe-memory-access=allow",
        "-Xmx1g"})
public class KernelBenchmark {

    /** JMH makes one per fork. */
    public KernelBenchmark() {
    }

    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int ROWS = 3584;
    private static final int COLS = 1024;

    /** 4: an expert's share of a 16-token pass (top-2 of 8); 16: lm_head and attention. */
    @Param({"4", "16"})
    public int tokens;

    @Param({"scalar", "vector"})
    public String kernel;

    private MatMul matMul;
    private Linear projection;
    private float[] x;
    private float[] row;

    @Setup(Level.Trial)
    public void setUp() {
        Kernel k = switch (kernel) {
            case "scalar" -> Kernel.scalar();
            case "vector" -> Kernel.vector().orElseThrow(() -> new IllegalStateException(
                    "the vector kernel needs --add-modules jdk.incubator.vector"));
            default -> throw new IllegalArgumentException(kernel);
        };
        SplittableRandom random = new SplittableRandom(1);
        MemorySegment weights = Arena.global().allocate((long) ROWS * COLS * 2, 64);
        for (long i = 0; i < (long) ROWS * COLS; i++) {
            weights.setAtIndex(BF16, i, (short) (Float.floatToRawIntBits((float) random.nextDouble(-1, 1)) >>> 16));
        }
        projection = new Linear(new WeightMatrix("expert.w1", weights, Dtype.BF16, 0, ROWS, COLS), Optional.empty());
        x = new float[tokens * COLS];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextDouble(-1, 1);
        }
        row = new float[COLS];
        Kernel.scalar().decodeRow(projection.weight(), 0, row);
        matMul = new MatMul(k, 1);
    }

    /** y = x Wᵀ for one expert projection: the decode of each row and its dot with every token. */
    @Benchmark
    public float[] projection() {
        return matMul.apply(projection, x, tokens);
    }

    /** One row against the first token, the loop inside the projection. */
    @Benchmark
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public float dot() {
        return matMul.kernel().dot(row, 0, x, 0, COLS);
    }
}
