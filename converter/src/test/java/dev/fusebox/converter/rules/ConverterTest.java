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
                new Operation.Chunk(0), new Operation.Transpose(1, 2), new Operation.Interleave(1, false),
                new Operation.SplitExperts(), new Operation.JoinExperts());
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

    /** ErnieFuseAndSplitTextVisionExperts: one expert list per source, split in one group per target. */
    @Test
    void splittingExpertsIntoGroupsRunsTheRestOfTheChainPerGroupAndReversesIntoAJoin() {
        Converter c = new Converter(p("experts.*.gate_proj.weight", "experts.*.up_proj.weight"),
                p("text_moe.experts.gate_up_proj", "vision_moe.experts.gate_up_proj"),
                List.of(new Operation.SplitExperts(), new Operation.Stack(0), new Operation.Concat(1)));
        assertThat(c.expertGroups()).isEqualTo(2);
        assertThat(c.targetsPerGroup()).isEqualTo(1);
        Converter back = c.reversed();
        assertThat(back.operations()).containsExactly(new Operation.Chunk(1), new Operation.Unstack(0),
                new Operation.JoinExperts());
        assertThat(back.expertGroups()).isEqualTo(2);
        assertThat(back.targetsPerGroup()).isEqualTo(2);
        assertThat(back.reversed()).isEqualTo(c);
    }

    @Test
    void splitAndJoinStandWhereTheirGroupsAreWellFormed() {
        List<KeyPattern> two = p("t.w", "v.w");
        Operation split = new Operation.SplitExperts();
        Operation join = new Operation.JoinExperts();
        assertThatThrownBy(() -> new Converter(p("a.*.w"), two, List.of(new Operation.Stack(0), split)))
                .hasMessageContaining("split_experts must come first and join_experts last");
        assertThatThrownBy(() -> new Converter(p("a.*.w"), p("a.w"), List.of(split, new Operation.Stack(0))))
                .hasMessageContaining("split_experts needs two or more targets");
        assertThatThrownBy(() -> new Converter(p("a.w"), two, List.of(split, new Operation.Transpose(0, 1))))
                .hasMessageContaining("split_experts needs every source to be a list of experts");
        assertThatThrownBy(() -> new Converter(p("a.*.w", "b.*.w"), two, List.of(split, new Operation.Stack(0))))
                .hasMessageContaining("leave 2 tensor(s) for 1 target(s) per group");
        assertThatThrownBy(() -> new Converter(p("a.*.w"), two, List.of(split, new Operation.Stack(0),
                new Operation.Chunk(1)))).hasMessageContaining("two or more targets per group");
        assertThatThrownBy(() -> new Converter(p("t.w", "v.*.w"), p("a.*.w"), List.of(new Operation.Unstack(0), join)))
                .hasMessageContaining("join_experts needs two or more sources, one per group of experts, all alike");
        assertThatThrownBy(() -> new Converter(two, p("a.w"), List.of(new Operation.Transpose(0, 1), join)))
                .hasMessageContaining("join_experts needs the operations before it to leave lists of experts");
        assertThatThrownBy(() -> new Converter(p("a.*.w"), two, List.of(split, join)))
                .hasMessageContaining("a converter may split_experts or join_experts once");
    }
}
