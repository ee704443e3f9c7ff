package dev.fusebox.converter.plan;

import dev.fusebox.converter.rules.Direction;
import dev.fusebox.converter.rules.RuleBook;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ExpertModulesTest {

    @Test
    void towardV5AKeyIsInAnExpertModuleWhenItHasAnExpertIndexWhereARulePatternHasOne() {
        ExpertModules m = ExpertModules.of(RuleBook.bundled().forModelType("qwen3_moe").orElseThrow()
                .toward(Direction.TO_V5));
        assertThat(m.holds("model.layers.0.mlp.experts.3.gate_proj.qweight")).isTrue();
        assertThat(m.holds("model.layers.0.mlp.experts.12.down_proj.bias")).isTrue();
        assertThat(m.holds("model.layers.0.mlp.shared_experts.gate_proj.weight")).isFalse();
        assertThat(m.holds("model.layers.0.mlp.experts.gate_up_proj")).isFalse();
        assertThat(m.holds("model.layers.0.mlp.gate.weight")).isFalse();
    }

    @Test
    void towardLegacyEveryKeyUnderTheFusedModuleIsInIt() {
        ExpertModules m = ExpertModules.of(RuleBook.bundled().forModelType("mixtral").orElseThrow()
                .toward(Direction.TO_LEGACY));
        assertThat(m.holds("model.layers.0.mlp.experts.gate_up_proj_bias")).isTrue();
        assertThat(m.holds("model.layers.0.mlp.experts.down_proj.absmax")).isTrue();
        assertThat(m.holds("model.layers.0.mlp.gate.weight")).isFalse();
    }
}
