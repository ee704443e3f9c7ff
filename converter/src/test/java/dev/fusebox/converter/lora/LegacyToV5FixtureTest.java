package dev.fusebox.converter.lora;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.FloatCodec;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The ground truth for legacy → v5: what PEFT 0.21 itself writes after loading each legacy adapter on the
 * v5 model (in float64, as the fixtures were made), with the rsLoRA alpha fixed where PEFT gets it wrong.
 */
class LegacyToV5FixtureTest {

    @TempDir
    Path tmp;

    static List<String> names() {
        return AdapterFixtures.NAMES;
    }

    @ParameterizedTest
    @MethodSource("names")
    void asFloat64TheAdapterFileIsByteIdenticalToWhatPeftSaves(String name) throws Exception {
        Path out = tmp.resolve(name);
        AdapterFixtures.convert(Fixtures.tiny("legacy-lora-" + name), out, Optional.empty(), Optional.of(Layout.V5),
                Optional.of(Dtype.F64));
        Path peft = Fixtures.tiny("peft-saved-" + name).resolve(Checkpoint.ADAPTER_WEIGHTS);
        assertThat(Files.mismatch(out.resolve(Checkpoint.ADAPTER_WEIGHTS), peft)).isEqualTo(-1L);
    }

    @ParameterizedTest
    @MethodSource("names")
    void theConfigMeansWhatPeftsDoesWithTheRsloraAlphaFixed(String name) throws Exception {
        Path out = tmp.resolve(name);
        AdapterFixtures.convert(Fixtures.tiny("legacy-lora-" + name), out, Optional.empty(), Optional.empty(),
                Optional.empty());
        String reference = name.endsWith("rslora") ? "peft-saved-" + name + "-alpha-fixed" : "peft-saved-" + name;
        AdapterFixtures.assertSameMeaning(out.resolve(Checkpoint.ADAPTER_CONFIG),
                Fixtures.tiny(reference).resolve(Checkpoint.ADAPTER_CONFIG));
    }

    @ParameterizedTest
    @MethodSource("names")
    void inTheAdaptersOwnDtypeEveryValueEqualsPeftsWidenedOne(String name) throws Exception {
        Path out = tmp.resolve(name);
        AdapterFixtures.convert(Fixtures.tiny("legacy-lora-" + name), out, Optional.empty(), Optional.empty(),
                Optional.empty());
        try (Checkpoint mine = Checkpoint.open(out);
             Checkpoint peft = Checkpoint.open(Fixtures.tiny("peft-saved-" + name))) {
            assertThat(mine.tensors().keySet()).containsExactlyElementsOf(peft.tensors().keySet());
            for (StoredTensor p : peft.tensors().values()) {
                StoredTensor m = mine.tensor(p.key()).orElseThrow();
                assertThat(m.dtype()).isEqualTo(Dtype.F32);
                assertThat(m.shape()).isEqualTo(p.shape());
                for (long i = 0; i < p.shape().elementCount(); i++) {
                    double want = FloatCodec.get(p.data(), Dtype.F64, i);
                    double got = FloatCodec.get(m.data(), Dtype.F32, i);
                    if (got != want) {
                        throw new AssertionError(p.key() + "[" + i + "]: " + got + " but PEFT has " + want);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("names")
    void legacyToV5AndBackGivesTheOriginalFileByteForByte(String name) throws Exception {
        Path legacy = Fixtures.tiny("legacy-lora-" + name);
        Path v5 = tmp.resolve("v5");
        Path back = tmp.resolve("back");
        AdapterFixtures.convert(legacy, v5, Optional.of(Fixtures.tiny("legacy-base")), Optional.empty(),
                Optional.empty());
        AdapterFixtures.convert(v5, back, Optional.of(Fixtures.tiny("legacy-base")), Optional.empty(),
                Optional.empty());
        assertThat(Files.mismatch(back.resolve(Checkpoint.ADAPTER_WEIGHTS),
                legacy.resolve(Checkpoint.ADAPTER_WEIGHTS))).isEqualTo(-1L);
        AdapterFixtures.assertSameMeaning(back.resolve(Checkpoint.ADAPTER_CONFIG),
                legacy.resolve(Checkpoint.ADAPTER_CONFIG));
    }
}
