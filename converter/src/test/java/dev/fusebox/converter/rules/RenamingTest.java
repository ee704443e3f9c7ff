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

    @Test
    void aPatternThatBacktracksWithoutEndGivesUpNamingItselfAndTheKey() {
        // Nested repetition against a key that almost matches: exponential in the key's length without a bound.
        Renaming runaway = Renaming.of("^(\\w+\\.?)*?x$", "y", Optional.empty(), true);
        String key = "model.layers.0.block_sparse_moe.experts.0.w1.weight";
        assertThatThrownBy(() -> runaway.apply(key)).isInstanceOf(RunawayPatternException.class)
                .hasMessageContaining("'^(\\w+\\.?)*?x$'").hasMessageContaining(key)
                .hasMessageContaining("backtracks");
        assertThatThrownBy(() -> runaway.matches(key)).isInstanceOf(RunawayPatternException.class);
        // The same pattern settles a key it matches, or one it fails on at once, within the budget.
        assertThat(runaway.apply("layers.x")).isEqualTo("y");
        assertThat(runaway.matches("")).isFalse();
    }

    @Test
    void aLinearPatternReadsAKeyOfAMillionCharactersWithinItsBudget() {
        Renaming r = Renaming.of("\\.block_sparse_moe\\.", ".mlp.", Optional.empty(), false);
        String key = "a".repeat(1_000_000) + ".block_sparse_moe.w";
        assertThat(r.apply(key)).isEqualTo("a".repeat(1_000_000) + ".mlp.w");
        Renaming wild = Renaming.of("(.*)\\.w$", "$1.weight", Optional.empty(), true);
        assertThat(wild.apply(key)).endsWith(".block_sparse_moe.weight");
    }

    @Test
    void anAlternationRepeatedOverAVeryLongKeyRunsOutOfStackWithAMessage() {
        Renaming r = Renaming.of("^(a|b)*$", "y", Optional.empty(), true);
        assertThat(r.apply("abba")).isEqualTo("y");
        assertThatThrownBy(() -> r.matches("a".repeat(1_000_000))).isInstanceOf(RunawayPatternException.class)
                .hasMessageContaining("ran out of stack").hasMessageContaining("1000000 characters");
    }
}
