package dev.fusebox.converter.rules;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

class RequiredTextTest {

    @Test
    void literalPatternsRequireTheirTextWithDotsUnescaped() {
        assertThat(RequiredText.of("\\.block_sparse_moe\\.")).contains(".block_sparse_moe.");
        assertThat(RequiredText.of("^model\\.language_model\\.")).contains("model.language_model.");
        assertThat(RequiredText.of("\\.learnable_sink_param$")).contains(".learnable_sink_param");
    }

    @Test
    void groupsClassesAndOptionalCharactersSplitTheText() {
        assertThat(RequiredText.of("(?<!language_model\\.)layers\\.")).contains("layers.");
        assertThat(RequiredText.of("(?<!_)(?<!\\w)norm\\.")).contains("norm.");
        assertThat(RequiredText.of("mlp\\.experts?\\.gate_up_proj")).contains(".gate_up_proj");
        assertThat(RequiredText.of("abc[xyz]defg")).contains("defg");
        assertThat(RequiredText.of("abcd{2,3}x")).contains("abc");
        assertThat(RequiredText.of("ab+cdef")).contains("cdef");
        assertThat(RequiredText.of("layers\\.\\d+\\.mlp")).contains("layers.");
        assertThat(RequiredText.of("^\\Q.mlp.\\E")).contains(".mlp.");
        assertThat(RequiredText.of("\\Q.mlp.\\E?x")).contains(".mlp");
    }

    @Test
    void alternationsFlagsAndLongEscapesHaveNone() {
        assertThat(RequiredText.of("w1|w3")).isEmpty();
        assertThat(RequiredText.of("(?i)experts")).isEmpty();
        assertThat(RequiredText.of("\\x41bc")).isEmpty();
        assertThat(RequiredText.of(".*")).isEmpty();
        assertThat(RequiredText.of("(a|b)*")).isEmpty();
    }

    @Test
    void everyKeyABundledRenamingMatchesHoldsItsText() {
        List<String> keys = List.of("model.layers.0.block_sparse_moe.experts.1.w1.weight",
                "model.language_model.layers.0.mlp.experts.0.gate_proj.weight", "model.norm.weight",
                "model.layers.0.self_attn.q_b_proj.weight", "vision_model.blocks.0.attn.qkv.weight",
                "model.layers.3.mlp.shared_expert.gate_proj.weight", "backbone.layers.0.mixer.A_log",
                "model.layers.0.hc_attn_layer.hc_fn", "layers.0.mlp.router.gate.weight");
        for (RuleSet set : RuleBook.bundled().ruleSets()) {
            for (Direction d : Direction.values()) {
                for (Renaming r : set.toward(d).renamings()) {
                    Optional<String> text = r.requiredText();
                    for (String k : keys) {
                        if (Pattern.compile(r.from().pattern()).matcher(k).find()) {
                            assertThat(k).as(r.toString()).contains(text.orElse(""));
                        }
                    }
                }
            }
        }
    }
}
