package dev.fusebox.converter.failure;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.convert.ConvertOptions;
import dev.fusebox.converter.convert.PlanExecutor;
import dev.fusebox.converter.plan.Planner;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A conversion whose output disk fills up or fails at many byte positions (in every shard, the index, the copied
 * config and the final rename), that is cancelled after every tensor, or whose input turns out truncated halfway:
 * every time it fails with one clear error, the input is byte for byte as it was, and nothing exists under the
 * output's name or its {@code .partial} name. Afterwards a conversion without faults succeeds.
 */
class ConversionFaultInjectionTest {

    /** Small shards, so the output has several shard files and an index. */
    static final ConvertOptions SHARDED = new ConvertOptions(300_000, false);
    /** The same, each shard written by two threads (a large shard's way, forced here on a small one). */
    static final ConvertOptions SHARDED_TWO_LANES = SHARDED.withTwoLanesFrom(0);

    @TempDir
    Path dir;

    FaultyFileSystem fs;
    Path input;
    Map<Path, String> inputDigests;

    @BeforeEach
    void copyTheInput() throws Exception {
        fs = new FaultyFileSystem(FileSystems.getDefault());
        input = Files.createDirectory(dir.resolve("legacy"));
        for (String f : List.of("config.json", "model.safetensors")) {
            Files.copy(Fixtures.tiny("legacy-base/" + f), input.resolve(f));
        }
        inputDigests = digests(input);
    }

    static Map<Path, String> digests(Path d) throws Exception {
        Map<Path, String> out = new TreeMap<>();
        try (Stream<Path> files = Files.list(d)) {
            for (Path f : files.toList()) {
                out.put(f.getFileName(), WriterFaultInjectionTest.sha256(f));
            }
        }
        return out;
    }

    private void convert(Path out, ConvertOptions options, ProgressListener listener, Cancellation cancellation)
            throws FuseboxException {
        try (Checkpoint c = Checkpoint.open(input)) {
            PlanExecutor.execute(c, Planner.plan(c, RuleBook.bundled(), Optional.empty()), out, options, listener,
                    cancellation);
        }
    }

    /** The bytes a fault-free conversion writes to {@code name} (then removed), to place faults within. */
    private long bytesWritten(String name, ConvertOptions options) throws Exception {
        fs.failWritesAfter(Long.MAX_VALUE, "");
        Path out = fs.wrap(dir.resolve(name));
        convert(out, options, ProgressListener.NONE, Cancellation.NEVER);
        long n = fs.written();
        deleteTree(dir.resolve(name));
        return n;
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        }
    }

    static List<Long> positions(long total) {
        return Stream.concat(LongStream.of(0, 1, 7, 8, total - 1).boxed(),
                LongStream.range(1, 48).map(i -> i * total / 48).boxed()).distinct().sorted().toList();
    }

    @Test
    void aDiskFailingAtAnyByteOfAShardedOutputLeavesNothingAndTheInputUnchanged() throws Exception {
        long total = bytesWritten("v5", SHARDED);
        assertThat(total).isGreaterThan(822_528);
        for (long at : positions(total)) {
            for (String failure : List.of("No space left on device", "Input/output error")) {
                fs.failWritesAfter(at, failure);
                assertFailsCleanly(fs.wrap(dir.resolve("v5")), SHARDED, Cancellation.NEVER, Problem.IO_ERROR, failure);
            }
        }
        convertsWithoutFaults(fs.wrap(dir.resolve("v5")), SHARDED);
    }

    @Test
    void aDiskFailingAtAnyByteOfASingleFileOutputLeavesNothingEither() throws Exception {
        long total = bytesWritten("v5.safetensors", ConvertOptions.DEFAULTS);
        for (long at : positions(total)) {
            fs.failWritesAfter(at, "No space left on device");
            assertFailsCleanly(fs.wrap(dir.resolve("v5.safetensors")), ConvertOptions.DEFAULTS, Cancellation.NEVER,
                    Problem.IO_ERROR, "No space left on device");
        }
        convertsWithoutFaults(fs.wrap(dir.resolve("v5.safetensors")), ConvertOptions.DEFAULTS);
    }

    @Test
    void aDiskFailingAtAnyByteWhileTwoThreadsWriteEachShardLeavesNothingEither() throws Exception {
        for (ConvertOptions options : List.of(SHARDED_TWO_LANES, ConvertOptions.DEFAULTS.withTwoLanesFrom(0))) {
            String name = options.equals(SHARDED_TWO_LANES) ? "v5" : "v5.safetensors";
            long total = bytesWritten(name, options);
            for (long at : positions(total)) {
                fs.failWritesAfter(at, "No space left on device");
                // The lane that hits the fault reports it; the other stops without a word of its own.
                assertFailsCleanly(fs.wrap(dir.resolve(name)), options, Cancellation.NEVER, Problem.IO_ERROR,
                        "No space left on device");
            }
            convertsWithoutFaults(fs.wrap(dir.resolve(name)), options);
            deleteTree(dir.resolve(name));
        }
    }

    @Test
    void cancellingAfterAnyTensorWhileTwoThreadsWriteLeavesNothing() throws Exception {
        int targets;
        try (Checkpoint c = Checkpoint.open(input)) {
            targets = Planner.plan(c, RuleBook.bundled(), Optional.empty()).targets().size();
        }
        for (int k = 0; k <= targets; k++) {
            int after = k;
            AtomicBoolean cancel = new AtomicBoolean();
            ProgressListener listener = p -> {
                if (p.itemsDone() >= after) {
                    cancel.set(true);
                }
            };
            assertThatThrownBy(() -> convert(dir.resolve("v5"), SHARDED_TWO_LANES, listener, cancel::get))
                    .as("cancelled after %d tensors", k)
                    .isInstanceOfSatisfying(FuseboxException.class,
                            e -> assertThat(e.problem()).isEqualTo(Problem.CANCELLED));
            assertNothingLeft();
        }
    }

    @Test
    void aFailingRenameLeavesNothing() throws Exception {
        fs.failMoves(true);
        for (String name : List.of("v5", "v5.safetensors")) {
            assertFailsCleanly(fs.wrap(dir.resolve(name)), SHARDED, Cancellation.NEVER, Problem.IO_ERROR, "rename");
        }
        fs.failMoves(false);
        convertsWithoutFaults(fs.wrap(dir.resolve("v5")), SHARDED);
    }

    @Test
    void cancellingAfterAnyTensorLeavesNothing() throws Exception {
        int targets;
        try (Checkpoint c = Checkpoint.open(input)) {
            targets = Planner.plan(c, RuleBook.bundled(), Optional.empty()).targets().size();
        }
        for (int k = 0; k <= targets; k++) {
            int after = k;
            boolean[] cancel = {false};
            ProgressListener listener = p -> cancel[0] |= p.itemsDone() >= after;
            assertThatThrownBy(() -> convert(dir.resolve("v5"), SHARDED, listener, () -> cancel[0]))
                    .as("cancelled after %d tensors", k)
                    .isInstanceOfSatisfying(FuseboxException.class,
                            e -> assertThat(e.problem()).isEqualTo(Problem.CANCELLED));
            assertNothingLeft();
        }
    }

    @Test
    void anInputFoundTruncatedHalfwayFailsAndLeavesNoOutput() throws Exception {
        try (Checkpoint c = Checkpoint.open(input)) {
            var plan = Planner.plan(c, RuleBook.bundled(), Optional.empty());
            StoredTensor last = c.tensors().values().stream()
                    .max(Comparator.comparingLong(StoredTensor::fileOffset)).orElseThrow();
            try (FileChannel ch = FileChannel.open(input.resolve("model.safetensors"), StandardOpenOption.WRITE)) {
                ch.truncate(last.fileOffset() + 3);
            }
            Path out = dir.resolve("v5");
            assertThatThrownBy(() -> PlanExecutor.execute(c, plan, out, SHARDED, ProgressListener.NONE,
                    Cancellation.NEVER)).isInstanceOfSatisfying(FuseboxException.class,
                    e -> {
                        assertThat(e.problem()).isEqualTo(Problem.IO_ERROR);
                        // The input is to blame, not the OUT.partial shard whose write met its end.
                        assertThat(e.file()).contains(input.resolve("model.safetensors").toAbsolutePath());
                        assertThat(e.getMessage()).contains("changed while being read").doesNotContain(".partial");
                    });
        }
        assertThat(dir.resolve("v5")).doesNotExist();
        assertThat(dir.resolve("v5.partial")).doesNotExist();
    }

    private void assertFailsCleanly(Path out, ConvertOptions options, Cancellation cancellation, Problem problem,
                                    String words) throws Exception {
        assertThatThrownBy(() -> convert(out, options, ProgressListener.NONE, cancellation))
                .as("writing %s with a fault after %d bytes", out.getFileName(), fs.written())
                .isInstanceOfSatisfying(FuseboxException.class, e -> {
                    assertThat(e.problem()).isEqualTo(problem);
                    assertThat(e.getMessage()).contains(words);
                });
        assertNothingLeft();
    }

    private void assertNothingLeft() throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).containsExactly(input);
        }
        assertThat(digests(input)).isEqualTo(inputDigests);
    }

    private void convertsWithoutFaults(Path out, ConvertOptions options) throws Exception {
        fs.failWritesAfter(Long.MAX_VALUE, "");
        convert(out, options, ProgressListener.NONE, Cancellation.NEVER);
        try (Checkpoint converted = Checkpoint.open(FaultyFileSystem.unwrap(out));
             Checkpoint reference = Checkpoint.open(Fixtures.tiny("v5-base.float32.safetensors"))) {
            for (StoredTensor e : reference.tensors().values()) {
                assertThat(converted.tensor(e.key()).orElseThrow().data().mismatch(e.data())).isEqualTo(-1L);
            }
        }
    }
}
