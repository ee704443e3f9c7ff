package dev.fusebox.converter.rules;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KeyPatternTest {

    @Test
    void aStarMatchesTheExpertIndexAndSplitsTheKeyAroundTheMatch() {
        KeyPattern p = new KeyPattern("mlp.experts.*.gate_proj.weight");
        KeyPattern.Match m = p.find("model.layers.3.mlp.experts.11.gate_proj.weight").orElseThrow();
        assertThat(m.prefix()).isEqualTo("model.layers.3.");
        assertThat(m.suffix()).isEmpty();
        assertThat(m.index()).isEqualTo(11);
        assertThat(p.expand(m.prefix(), m.suffix(), 11)).isEqualTo("model.layers.3.mlp.experts.11.gate_proj.weight");
    }

    @Test
    void aPatternStartingWithADotMatchesInsideAName() {
        KeyPattern.Match m = new KeyPattern(".experts.*.w1.weight")
                .find("model.layers.0.mlp.experts.2.w1.weight").orElseThrow();
        assertThat(m.prefix()).isEqualTo("model.layers.0.mlp");
        assertThat(m.index()).isEqualTo(2);
    }

    @Test
    void matchesStopAtKeyBoundaries() {
        KeyPattern p = new KeyPattern("mlp.experts.*.gate_proj.weight");
        assertThat(p.find("model.layers.0.shared_mlp.experts.0.gate_proj.weight")).isEmpty();
        assertThat(p.find("model.layers.0.mlp.experts.0.gate_proj.weight_scale_inv")).isEmpty();
        assertThat(p.find("model.layers.0.mlp.experts.0.gate_proj.weight.absmax")).isPresent();
    }

    @Test
    void anIndexIsDigitsWithoutALeadingZero() {
        KeyPattern p = new KeyPattern("experts.*.w1.weight");
        assertThat(p.find("experts.x.w1.weight")).isEmpty();
        assertThat(p.find("experts.01.w1.weight")).isEmpty();
        assertThat(p.find("experts.0.w1.weight")).isPresent();
        assertThat(p.find("experts.10.w1.weight").orElseThrow().index()).isEqualTo(10);
    }

    @Test
    void aPatternWithoutStarMatchesLiterally() {
        KeyPattern p = new KeyPattern("mlp.experts.gate_up_proj");
        KeyPattern.Match m = p.find("model.layers.7.mlp.experts.gate_up_proj").orElseThrow();
        assertThat(m.index()).isEqualTo(-1);
        assertThat(p.find("model.layers.7.mlp.experts.gate_up_projection")).isEmpty();
    }

    @Test
    void twoStarsAreRefused() {
        assertThatThrownBy(() -> new KeyPattern("layers.*.experts.*.w1")).hasMessageContaining("more than one '*'");
    }
}
