package dev.fusebox.converter.rules;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConverterTest {

    private static List<KeyPattern> p(String... patterns) {
        return java.util.Arrays.stream(patterns).map(KeyPattern::new).toList();
    }

    @Test
    void everyOperationHasAnInverseThatUndoesIt() {
        List<Operation> ops = List.of(new Operation.Stack(0), new Operation.Unstack(1), new Operation.Concat(2),
                new Operation.Chunk(0), new Operation.Transpose(1, 2), new Operation.Interleave(1, false));
        for (Operation op : ops) {
            assertThat(op.inverse().inverse()).isEqualTo(op);
            assertThat(op.inverse()).isNotEqualTo(op);
        }
    }

    @Test
    void reversingAStackAndConcatGivesAChunkThenUnstackIntoTheSources() {
        Converter c = new Converter(p(".experts.*.w1.weight", ".experts.*.w3.weight"), p(".experts.gate_up_proj"),
                List.of(new Operation.Stack(0), new Operation.Concat(1)));
        Converter back = c.reversed();
        assertThat(back.sources()).isEqualTo(p(".experts.gate_up_proj"));
        assertThat(back.targets()).isEqualTo(p(".experts.*.w1.weight", ".experts.*.w3.weight"));
        assertThat(back.operations()).containsExactly(new Operation.Chunk(1), new Operation.Unstack(0));
        assertThat(back.reversed()).isEqualTo(c);
    }

    @Test
    void aChainThatDoesNotEndInItsTargetsIsRefused() {
        assertThatThrownBy(() -> new Converter(p("a.*.w"), p("a.w"), List.of(new Operation.Transpose(0, 1))))
                .hasMessageContaining("receives a list of experts, so it needs a '*'");
        assertThatThrownBy(() -> new Converter(p("a.*.w", "b.*.w"), p("ab"), List.of(new Operation.Stack(0))))
                .hasMessageContaining("leave 2 tensor(s) for 1 target(s)");
        assertThatThrownBy(() -> new Converter(p("a.w"), p("b.w"), List.of(new Operation.Stack(0))))
                .hasMessageContaining("needs every slot to be a list of experts");
        assertThatThrownBy(() -> new Converter(p("a.w"), p("b.w"), List.of()))
                .hasMessageContaining("at least one operation");
    }
}
