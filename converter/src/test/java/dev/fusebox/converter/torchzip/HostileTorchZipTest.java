package dev.fusebox.converter.torchzip;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;

import static dev.fusebox.converter.torchzip.TorchZipFileTest.resource;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * Hostile and malformed torch.save files, each refused with its problem and the words of its message. The files
 * that carry code (os.system, eval, exec) were written by the real torch.save; the others are built byte by byte.
 */
class HostileTorchZipTest {

    /**
     * What the torch-written payloads create if they ever run: a path relative to the working directory, which
     * Maven makes the module's, so inside the build (make_bin_files.py writes the same string into them).
     */
    static final Path MARKER = Path.of("target/fusebox-PWNED");
    static final long[] TWO = {2};
    static final long[] ONE = {1};

    @TempDir
    Path dir;

    static Stream<Arguments> writtenByTorch() {
        return Stream.of(
                arguments("os-system.bin", Problem.REFUSED_PICKLE, "refuses the global posix.system"),
                arguments("builtins-eval.bin", Problem.REFUSED_PICKLE, "refuses the global __builtin__.eval"),
                arguments("exec-in-tensor-args.bin", Problem.REFUSED_PICKLE, "refuses the global __builtin__.exec"),
                arguments("transposed.bin", Problem.UNSUPPORTED, "non-contiguous view (shape [3, 2], strides [1, 3])"),
                arguments("legacy-format.bin", Problem.UNSUPPORTED, "before 1.6"),
                arguments("big-endian.bin", Problem.UNSUPPORTED, "big-endian"),
                arguments("deflated.bin", Problem.INVALID_ARCHIVE, "is compressed (zip method 8)"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("writtenByTorch")
    void filesWrittenByTorchThatFuseboxMustNotReadAreRefused(String name, Problem problem, String words) {
        assertRefused(resource(name), problem, words);
        assertThat(MARKER).doesNotExist();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("payloads")
    void eachPayloadWouldCreateTheMarkerTheRefusalTestsLookFor(String name) throws Exception {
        String stored = new String(Files.readAllBytes(resource(name)), StandardCharsets.ISO_8859_1);
        assertThat(stored).contains(MARKER.toString());
    }

    static Stream<String> payloads() {
        return Stream.of("os-system.bin", "builtins-eval.bin", "exec-in-tensor-args.bin");
    }

    static byte[] floats(int n) {
        return new byte[4 * n];
    }

    static byte[] pickleWithGlobal(String module, String name) {
        return PickleWriter.protocol2().emptyDict().str("w").global(module, name).str("id").op(0x85).reduce()
                .setItem().stop().bytes();
    }

    static Stream<Arguments> builtByHand() {
        byte[] good = PickleWriter.oneTensor(2, 0, TWO, ONE);
        return Stream.of(
                arguments("a GLOBAL os.system called with REDUCE",
                        TorchZipBuilder.torch(pickleWithGlobal("os", "system"), floats(2)).bytes(),
                        Problem.REFUSED_PICKLE, "refuses the global os.system"),
                arguments("subprocess.Popen", TorchZipBuilder.torch(pickleWithGlobal("subprocess", "Popen")).bytes(),
                        Problem.REFUSED_PICKLE, "subprocess.Popen"),
                arguments("a global hidden by STACK_GLOBAL",
                        TorchZipBuilder.torch(PickleWriter.protocol2().str("os").str("system").op(0x93).stop().bytes())
                                .bytes(), Problem.REFUSED_PICKLE, "os.system"),
                arguments("a torch function that is not a tensor rebuild",
                        TorchZipBuilder.torch(pickleWithGlobal("torch", "load")).bytes(),
                        Problem.REFUSED_PICKLE, "torch.load"),
                arguments("a call of a storage class",
                        TorchZipBuilder.torch(pickleWithGlobal("torch", "FloatStorage")).bytes(),
                        Problem.REFUSED_PICKLE, "only names and never calls"),
                arguments("a call of a string (a __reduce__ payload without a global)",
                        TorchZipBuilder.torch(PickleWriter.protocol2().str("x").emptyTuple().reduce().stop().bytes())
                                .bytes(), Problem.REFUSED_PICKLE, "calls a str"),
                arguments("the NEWOBJ opcode", TorchZipBuilder.torch(PickleWriter.protocol2()
                        .global("collections", "OrderedDict").emptyTuple().op(0x81).stop().bytes()).bytes(),
                        Problem.REFUSED_PICKLE, "NEWOBJ"),
                arguments("the INST opcode", TorchZipBuilder.torch(PickleWriter.protocol2().mark()
                        .op('i').raw("os\nsystem\n".getBytes(StandardCharsets.US_ASCII)).stop().bytes()).bytes(),
                        Problem.REFUSED_PICKLE, "INST"),
                arguments("an unknown persistent id", TorchZipBuilder.torch(PickleWriter.protocol2()
                        .mark().str("module").str("os").tuple().op('Q').stop().bytes()).bytes(),
                        Problem.REFUSED_PICKLE, "persistent id"),
                arguments("a storage reference past its record",
                        TorchZipBuilder.torch(PickleWriter.oneTensor(2, 1, TWO, ONE), floats(2)).bytes(),
                        Problem.INVALID_OFFSETS, "reaches byte 12 of its storage '0', which holds only 8 bytes"),
                arguments("a storage larger than its record",
                        TorchZipBuilder.torch(PickleWriter.oneTensor(1000, 0, TWO, ONE), floats(2)).bytes(),
                        Problem.SIZE_MISMATCH, "holds 1000 elements of 4 bytes, but its record has 8 bytes"),
                arguments("a storage without a record", TorchZipBuilder.torch(good).bytes(),
                        Problem.INVALID_ARCHIVE, "no data record"),
                arguments("a tensor whose size overflows",
                        TorchZipBuilder.torch(PickleWriter.oneTensor(2, 0, new long[] {0x7fffffff, 0x7fffffff,
                                0x7fffffff}, new long[] {1, 1, 1}), floats(2)).bytes(),
                        Problem.SIZE_OVERFLOW, "64 bits"),
                arguments("a pickle cut short", TorchZipBuilder.torch(Arrays.copyOf(good, good.length - 5),
                        floats(2)).bytes(), Problem.INVALID_PICKLE, "truncated"),
                arguments("a recall of a memo entry never stored",
                        TorchZipBuilder.torch(PickleWriter.protocol2().op('h', 7).stop().bytes()).bytes(),
                        Problem.INVALID_PICKLE, "memo entry 7"),
                arguments("a list instead of a state dict",
                        TorchZipBuilder.torch(PickleWriter.protocol2().op(']').stop().bytes()).bytes(),
                        Problem.INVALID_PICKLE, "holds a list instead of a state dict"),
                arguments("a nested dict instead of a tensor", TorchZipBuilder.torch(PickleWriter.protocol2()
                        .emptyDict().str("state_dict").emptyDict().setItem().stop().bytes()).bytes(),
                        Problem.INVALID_PICKLE, "tensor 'state_dict': its value is a dict, not a tensor"),
                arguments("a complex storage", TorchZipBuilder.torch(PickleWriter.protocol2().emptyDict().str("w")
                        .tensor("ComplexFloatStorage", "0", 2, 0, TWO, ONE).setItem().stop().bytes(),
                        floats(4)).bytes(), Problem.UNSUPPORTED, "torch.ComplexFloatStorage"),
                arguments("bytes after STOP", TorchZipBuilder.torch(Arrays.copyOf(good, good.length + 3),
                        floats(2)).bytes(), Problem.INVALID_PICKLE, "3 bytes after its STOP"),
                arguments("a zip entry climbing out with ../", TorchZipBuilder.torch(good, floats(2))
                        .add("archive/../../etc/passwd", new byte[1]).bytes(),
                        Problem.INVALID_ARCHIVE, "'archive/../../etc/passwd', a path that leaves the archive"),
                arguments("an absolute zip entry", TorchZipBuilder.torch(good, floats(2))
                        .add("/etc/passwd", new byte[1]).bytes(), Problem.INVALID_ARCHIVE, "leaves the archive"),
                arguments("an entry outside the archive folder", TorchZipBuilder.torch(good, floats(2))
                        .add("other/x", new byte[1]).bytes(), Problem.INVALID_ARCHIVE, "outside its archive folder"),
                arguments("a name given twice", TorchZipBuilder.torch(good, floats(2))
                        .add("archive/data/0", floats(2)).bytes(), Problem.INVALID_ARCHIVE,
                        "names the entry 'archive/data/0' twice"),
                arguments("two entries sharing their bytes (an overlapping zip bomb)",
                        TorchZipBuilder.torch(good, floats(2)).alias("archive/data/1", 2).bytes(),
                        Problem.INVALID_ARCHIVE, "zip bombs"),
                arguments("a compressed data.pkl", new TorchZipBuilder().add("archive/data.pkl", good, 8).bytes(),
                        Problem.INVALID_ARCHIVE, "compressed"),
                arguments("a zip without data.pkl", new TorchZipBuilder().add("archive/version", new byte[2]).bytes(),
                        Problem.INVALID_ARCHIVE, "without a <name>/data.pkl"),
                arguments("a TorchScript archive", TorchZipBuilder.torch(good, floats(2))
                        .add("archive/constants.pkl", new byte[1]).bytes(), Problem.UNSUPPORTED, "TorchScript"),
                arguments("a byteorder record that is neither", new TorchZipBuilder().add("archive/data.pkl", good)
                        .add("archive/byteorder", "middle".getBytes(StandardCharsets.US_ASCII)).bytes(),
                        Problem.INVALID_ARCHIVE, "neither 'little' nor 'big'"),
                arguments("a central directory claiming 65 000 entries", claimEntries(
                        TorchZipBuilder.torch(good, floats(2)).bytes(), 65000), Problem.INVALID_ARCHIVE,
                        "announces 65000 entries"),
                arguments("not a zip at all", "hello".getBytes(StandardCharsets.US_ASCII), Problem.INVALID_ARCHIVE,
                        "not a PyTorch zip archive"),
                arguments("an empty file", new byte[0], Problem.INVALID_ARCHIVE, "not a PyTorch zip archive"));
    }

    /** The archive with its end-of-central-directory record's entry counts replaced. */
    static byte[] claimEntries(byte[] zip, int count) {
        byte[] out = zip.clone();
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort(out.length - 22 + 8, (short) count).putShort(out.length - 22 + 10, (short) count);
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("builtByHand")
    void handBuiltHostileFilesAreRefused(String name, byte[] bytes, Problem problem, String words) throws Exception {
        Path f = dir.resolve("adapter_model.bin");
        Files.write(f, bytes);
        assertRefused(f, problem, words);
    }

    @Test
    void anArchiveWrittenWithZip64RecordsReadsLikeAPlainOne() throws Exception {
        byte[] data = new byte[8];
        ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-2f);
        Path plain = dir.resolve("plain.bin");
        Path zip64 = dir.resolve("zip64.bin");
        byte[] pickle = PickleWriter.oneTensor(2, 0, TWO, ONE);
        Files.write(plain, TorchZipBuilder.torch(pickle, data).bytes());
        Files.write(zip64, TorchZipBuilder.torch(pickle, data).zip64().bytes());
        try (TorchZipFile a = TorchZipFile.open(plain); TorchZipFile b = TorchZipFile.open(zip64)) {
            TorchZipFileTest.assertSameTensors(b, a);
            assertThat(b.data(b.tensor("w").orElseThrow()).toArray(ValueLayout.JAVA_BYTE))
                    .isEqualTo(data);
        }
    }

    @Test
    void aZip64LocatorPointingOutsideTheFileIsRefused() throws Exception {
        byte[] zip = TorchZipBuilder.torch(PickleWriter.oneTensor(2, 0, TWO, ONE), floats(2)).zip64().bytes();
        ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN).putLong(zip.length - 22 - 20 + 8, 1L << 40);
        Path f = dir.resolve("zip64-bad.bin");
        Files.write(f, zip);
        assertRefused(f, Problem.INVALID_ARCHIVE, "zip64 locator pointing outside the file");
    }

    @Test
    void aPickleBuildingEndlessValuesStopsAtTheBudget() throws Exception {
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        p.writeBytes(new byte[] {(byte) 0x80, 2, ']'});
        for (int i = 0; i < 1_500_000; i++) {
            p.writeBytes(new byte[] {'}', (byte) 0x94, 'a'});
        }
        p.write('.');
        Path f = dir.resolve("bomb.bin");
        Files.write(f, TorchZipBuilder.torch(p.toByteArray()).bytes());
        assertRefused(f, Problem.INVALID_PICKLE, "more than 256 MiB of values");
    }

    @Test
    void deepNestingNeitherOverflowsTheStackNorIsMistakenForAStateDict() throws Exception {
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        p.writeBytes(new byte[] {(byte) 0x80, 2, ')'});
        for (int i = 0; i < 1_000_000; i++) {
            p.write(0x85);
        }
        p.write('.');
        Path f = dir.resolve("deep.bin");
        Files.write(f, TorchZipBuilder.torch(p.toByteArray()).bytes());
        assertRefused(f, Problem.INVALID_PICKLE, "holds a tuple instead of a state dict");
    }

    @Test
    void truncationsOfARealFileAreRefusedCleanly() throws Exception {
        byte[] whole = Files.readAllBytes(resource("variants.bin"));
        Path f = dir.resolve("cut.bin");
        // Every length through the central directory and end record (the last 400 bytes), every 7th before.
        for (int n = 0; n < whole.length; n += n < whole.length - 400 ? 7 : 1) {
            Files.write(f, Arrays.copyOf(whole, n));
            assertThatThrownBy(() -> TorchZipFile.open(f).close()).as("cut at %d", n)
                    .isInstanceOf(FuseboxException.class);
        }
    }

    @Test
    void singleByteCorruptionsEitherOpenOrFailWithAFuseboxException() throws Exception {
        byte[] whole = Files.readAllBytes(resource("variants.bin"));
        Path f = dir.resolve("flipped.bin");
        // Every byte of the central directory and end record (the last 400 bytes), every 5th before.
        for (int i = 0; i < whole.length; i += i < whole.length - 400 ? 5 : 1) {
            byte[] b = whole.clone();
            b[i] ^= (byte) 0xA5;
            Files.write(f, b);
            try (TorchZipFile z = TorchZipFile.open(f)) {
                for (var t : z.tensors()) {
                    assertThat(t.begin()).isNotNegative();
                    assertThat(t.end()).isLessThanOrEqualTo(b.length);
                }
            } catch (FuseboxException expected) {
                assertThat(expected.getMessage()).startsWith(f.toString());
            }
        }
    }

    static void assertRefused(Path f, Problem problem, String words) {
        assertThatThrownBy(() -> TorchZipFile.open(f).close())
                .isInstanceOfSatisfying(FuseboxException.class, e -> {
                    assertThat(e.problem()).isEqualTo(problem);
                    assertThat(e.getMessage()).startsWith(f.toString()).contains(words);
                });
    }
}
