package dev.fusebox.converter.rules;

import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RenamingTest {

    @Test
    void aLiteralRenamingReplacesTheFirstMatchAndDerivesItsInverse() {
        Renaming r = Renaming.of("\\.block_sparse_moe\\.", ".mlp.", Optional.empty(), false);
        assertThat(r.apply("model.layers.0.block_sparse_moe.gate.weight")).isEqualTo("model.layers.0.mlp.gate.weight");
        Renaming back = r.reversed().orElseThrow();
        assertThat(back.apply("model.layers.0.mlp.gate.weight")).isEqualTo("model.layers.0.block_sparse_moe.gate.weight");
        assertThat(back.reversed().orElseThrow().apply("a.block_sparse_moe.b")).isEqualTo("a.mlp.b");
    }

    @Test
    void unescapedDotsAreReadAsTransformersReadsThemForTheInverse() {
        Renaming r = Renaming.of(".block_sparse_moe.", ".mlp.", Optional.empty(), false);
        assertThat(r.reversed().orElseThrow().apply("x.mlp.y")).isEqualTo("x.block_sparse_moe.y");
    }

    @Test
    void anchorsCarryOverToTheInverse() {
        Renaming r = Renaming.of("\\.learnable_sink_param$", ".sinks", Optional.empty(), false);
        Renaming back = r.reversed().orElseThrow();
        assertThat(back.apply("a.sinks")).isEqualTo("a.learnable_sink_param");
        assertThat(back.apply("a.sinks.b")).isEqualTo("a.sinks.b");
    }

    @Test
    void aRegexRenamingNeedsAnExplicitInverseOrToBeOneWay() {
        assertThatThrownBy(() -> Renaming.of("layers\\.(\\d+)\\.ffn", "layers.$1.mlp", Optional.empty(), false))
                .hasMessageContaining("give \"reverse\" or mark it \"one_way\"");
        Renaming explicit = Renaming.of("layers\\.(\\d+)\\.ffn", "layers.$1.mlp",
                Optional.of(Renaming.plain("layers\\.(\\d+)\\.mlp", "layers.$1.ffn")), false);
        assertThat(explicit.apply("model.layers.12.ffn.w")).isEqualTo("model.layers.12.mlp.w");
        assertThat(explicit.reversed().orElseThrow().apply("model.layers.12.mlp.w")).isEqualTo("model.layers.12.ffn.w");
        assertThat(Renaming.of("\\.hc_pre\\.hc_", ".hc_", Optional.empty(), true).reversed()).isEmpty();
    }
}
