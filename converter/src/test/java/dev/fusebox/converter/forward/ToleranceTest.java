package dev.fusebox.converter.forward;

import dev.fusebox.converter.tensor.Dtype;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class ToleranceTest {

    @Test
    void float32LogitsGetTheAbsoluteToleranceOfTheBrief() {
        Tolerance t = Tolerance.of(Dtype.F32);
        assertThat(t.logits(30)).isEqualTo(1e-4);
        assertThat(t.hidden(0.5)).isEqualTo(1e-4);
        assertThat(t.hidden(200)).isCloseTo(2e-2, within(1e-12));
    }

    @Test
    void sixteenBitLogitsGetAToleranceRelativeToTheLargestLogit() {
        assertThat(Tolerance.of(Dtype.BF16).logits(5)).isCloseTo(0.04, within(1e-12));
        assertThat(Tolerance.of(Dtype.F16).logits(0.2)).isEqualTo(1e-3);
    }

    @Test
    void theLoosestDtypeOfBothSidesDecides() {
        assertThat(Tolerance.of(List.of(Dtype.F32, Dtype.BF16, Dtype.F16)).dtype()).isEqualTo(Dtype.BF16);
        assertThat(Tolerance.of(List.of(Dtype.F64, Dtype.F32)).coefficient()).isEqualTo(1e-4);
        assertThat(Tolerance.of(List.of()).dtype()).isEqualTo(Dtype.F32);
    }
}
