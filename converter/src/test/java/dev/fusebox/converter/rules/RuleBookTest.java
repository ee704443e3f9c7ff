package dev.fusebox.converter.rules;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class RuleBookTest {

    @TempDir
    Path dir;

    /** Every model type the issue names, and the family whose rules transformers 5.x gives it. */
    @Test
    void everyFamilyTheIssueNamesHasRules() {
        RuleBook book = RuleBook.bundled();
        String[][] expected = {
                {"mixtral", "mixtral"}, {"minimax", "mixtral"}, {"minimax_m2", "minimax_m2"}, {"phimoe", "phimoe"},
                {"qwen2_moe", "qwen2_moe"}, {"qwen3_moe", "qwen2_moe"}, {"olmoe", "qwen2_moe"},
                {"flex_olmo", "qwen2_moe"}, {"deepseek_v2", "qwen2_moe"}, {"deepseek_v3", "qwen2_moe"},
                {"glm4_moe", "qwen2_moe"}, {"glm4_moe_lite", "qwen2_moe"}, {"dots1", "qwen2_moe"},
                {"hunyuan_v1_moe", "qwen2_moe"}, {"afmoe", "qwen2_moe"}, {"solar_open", "qwen2_moe"},
                {"mellum", "qwen2_moe"}, {"cohere2_moe", "qwen2_moe"}, {"ernie4_5_moe", "ernie4_5_moe"},
                {"exaone_moe", "exaone_moe"}, {"mimo_v2_flash", "mimo_v2_flash"}, {"hy_v3", "hy_v3"},
                {"hy_v4", "hy_v4"}, {"laguna", "laguna"}, {"axk1", "axk1"}, {"axk2", "axk2"}, {"jamba", "jamba"},
                {"granitemoe", "granitemoe"}, {"granitemoeshared", "granitemoe"}, {"kimi_k25", "qwen2_moe"},
                {"lfm2_moe", "lfm2_moe"}, {"nemotron_h", "nemotron_h"}, {"aria_text", "aria_text"},
                {"qwen3_5_moe_text", "qwen3_5_moe_text"}, {"kimi_linear", "kimi_linear"},
                {"qwen3_vl_moe", "qwen3_vl_moe"}, {"ernie4_5_vl_moe", "ernie4_5_vl_moe"}};
        for (String[] e : expected) {
            assertThat(book.forModelType(e[0])).as(e[0]).hasValueSatisfying(r -> assertThat(r.family()).isEqualTo(e[1]));
        }
        assertThat(book.forModelType("llama")).isEmpty();
    }

    @Test
    void aFamilyThatExtendsAnotherRunsItsRenamingsAfterTheBaseOnes() {
        RuleSet phimoe = RuleBook.bundled().forModelType("phimoe").orElseThrow();
        DirectedRules toV5 = phimoe.toward(Direction.TO_V5);
        assertThat(toV5.rename("model.layers.0.block_sparse_moe.gate.weight")).isEqualTo("model.layers.0.mlp.router.weight");
        assertThat(phimoe.toward(Direction.TO_LEGACY).rename("model.layers.0.mlp.router.weight"))
                .isEqualTo("model.layers.0.block_sparse_moe.gate.weight");
        assertThat(phimoe.converters()).hasSize(2);
    }

    /**
     * The legacy names transformers 5.18 writes when it saves a hy_v4 model (it inverts its load-time renamings
     * blindly: the hc_pre prefix before every hyper-connection name, linear_gate on the shared expert too), read
     * to the module names of HYV4ForCausalLM; converting back writes the names the rules restore, which
     * transformers loads to the same parameters (tools/oracle-families.py).
     */
    @Test
    void hyV4ReadsTheNamesTransformersSavesAndWritesNamesItLoads() {
        RuleSet hyV4 = RuleBook.bundled().forModelType("hy_v4").orElseThrow();
        String[][] savedToV5ToBack = {
                {"model.hc_pre.hc_head.hc_head_fn", "model.hc_head.hc_fn", "model.hc_head.hc_head_fn"},
                {"model.hc_pre.hc_head.hc_head_scale", "model.hc_head.hc_scale", "model.hc_head.hc_head_scale"},
                {"model.layers.1.hc_pre.hc_attn_layer.hc_base", "model.layers.1.attn_hc.base",
                        "model.layers.1.hc_attn_layer.hc_base"},
                {"model.layers.1.hc_pre.hc_mlp_layer.hc_fn", "model.layers.1.ffn_hc.fn",
                        "model.layers.1.hc_mlp_layer.hc_fn"},
                {"model.layers.1.self_attn.linear_gate.weight", "model.layers.1.self_attn.gate_proj.weight",
                        "model.layers.1.self_attn.linear_gate.weight"},
                {"model.layers.1.mlp.shared_experts.linear_gate.weight",
                        "model.layers.1.mlp.shared_experts.gate_proj.weight",
                        "model.layers.1.mlp.shared_experts.gate_proj.weight"},
                {"model.layers.1.self_attn.learnable_sink_param", "model.layers.1.self_attn.sinks",
                        "model.layers.1.self_attn.learnable_sink_param"},
                {"model.layers.1.mlp.experts.gate_up_proj", "model.layers.1.mlp.experts.gate_up_proj",
                        "model.layers.1.mlp.experts.gate_up_proj"}};
        for (String[] k : savedToV5ToBack) {
            assertThat(hyV4.toward(Direction.TO_V5).rename(k[0])).as(k[0]).isEqualTo(k[1]);
            assertThat(hyV4.toward(Direction.TO_LEGACY).rename(k[1])).as(k[1]).isEqualTo(k[2]);
        }
    }

    @Test
    void aUserRuleFileAddsAFamilyAndOverridesABundledModelType() throws Exception {
        Files.writeString(dir.resolve("mine.json"), """
                {"family": "mine", "model_types": ["mymoe", "qwen3_moe"],
                 "converters": [{"sources": ["ffn.experts.*.wi.weight"], "targets": "ffn.experts.wi",
                                 "operations": [{"op": "stack", "dim": 0}]}]}
                """);
        RuleBook book = RuleBook.installed(dir);
        assertThat(book.forModelType("mymoe").orElseThrow().family()).isEqualTo("mine");
        assertThat(book.forModelType("qwen3_moe").orElseThrow().family()).isEqualTo("mine");
        assertThat(book.forModelType("qwen2_moe").orElseThrow().family()).isEqualTo("qwen2_moe");
        assertThat(RuleBook.installed(dir.resolve("absent")).ruleSets()).isEqualTo(RuleBook.bundled().ruleSets());
    }

    @Test
    void aRulesFileGivenLaterCanExtendABundledFamily() throws Exception {
        Path f = dir.resolve("extra.json");
        Files.writeString(f, """
                {"family": "mixtral_extra", "model_types": ["mixtral_extra"], "extends": "mixtral",
                 "renamings": [{"from": "\\\\.lm_head\\\\.", "to": ".output."}]}
                """);
        RuleSet r = RuleBook.bundled().withFiles(List.of(f)).forModelType("mixtral_extra").orElseThrow();
        assertThat(r.renamings()).hasSize(2);
        assertThat(r.converters()).hasSize(2);
    }

    @Test
    void brokenRuleFilesAreRefusedNamingTheFileAndTheRule() throws Exception {
        assertRefused("{\"family\": \"x\", \"model_types\": [\"x\"], \"renamings\": [{\"from\": \"a\", \"too\": \"b\"}]}",
                "renamings[0] has the unknown field 'too'");
        assertRefused("{\"family\": \"x\", \"model_types\": [\"x\"], \"converters\": [{\"sources\": \"a.*.w\", "
                + "\"targets\": \"a.w\", \"operations\": [{\"op\": \"squash\", \"dim\": 0}]}]}",
                "converters[0].operations[0] names the operation 'squash'");
        assertRefused("{\"family\": \"x\", \"model_types\": [\"x\"], \"converters\": [{\"sources\": \"a.*.w\", "
                + "\"targets\": \"a.w\", \"operations\": [{\"op\": \"stack\", \"dim\": -1}]}]}",
                "converters[0].operations[0].dim is -1, expected an axis from 0 to 16");
        assertRefused("{\"family\": \"x\", \"model_types\": [\"x\"], \"converters\": [{\"sources\": \"a.*.w\", "
                + "\"targets\": [\"t.w\", \"v.w\"], \"operations\": [{\"op\": \"split_experts\", \"groups\": 2}]}]}",
                "converters[0].operations[0] has the unknown field 'groups'");
        assertRefused("{\"family\": \"x\", \"model_types\": [\"x\"], \"converters\": [{\"sources\": \"a.*.w\", "
                + "\"targets\": [\"t.w\", \"v.w\"], \"operations\": [{\"op\": \"stack\", \"dim\": 0}, "
                + "{\"op\": \"split_experts\"}]}]}",
                "converters[0]: split_experts must come first and join_experts last");
        assertRefused("{\"family\": \"x\", \"model_types\": [\"x\"], \"renamings\": [{\"from\": \"(\", \"to\": \"b\"}]}",
                "renamings[0].from is not a valid regular expression");
        assertRefused("{\"family\": \"x\", \"model_types\": [\"x\"], \"extends\": \"nobody\", \"renamings\": []}",
                "extends the family 'nobody'");
        assertRefused("{\"family\": \"x\", \"model_types\": []}", "model_types is missing or empty");
        assertRefused("{\"family\": \"x\", \"model_types\": [\"x\"]}", "defines no renaming and no converter");
        assertRefused("[1, 2]", "is not a JSON object");
        assertRefused("{\"family\": ", "is not valid JSON");
    }

    @Test
    void aBornFusedFamilyHasNothingToConvert() throws Exception {
        assertThat(RuleBook.bundled().forModelType("gpt_oss").orElseThrow().bornFused()).isTrue();
        assertRefused("{\"family\": \"x\", \"model_types\": [\"x\"], \"born_fused\": true, \"renamings\": "
                + "[{\"from\": \"a\", \"to\": \"b\"}]}", "is born_fused, so it has nothing to convert");
        assertRefused("{\"family\": \"x\", \"model_types\": [\"x\"], \"born_fused\": \"yes\"}",
                "born_fused is not true or false");
    }

    /** A converter whose keys are the same in both layouts, and its v5_shape, checked as the file is read. */
    @Test
    void aV5ShapeIsCheckedWhenTheRuleFileIsRead() throws Exception {
        String head = "{\"family\": \"x\", \"model_types\": [\"x\"], \"converters\": [{";
        String transpose = "\"operations\": [{\"op\": \"transpose\", \"dim0\": 1, \"dim1\": 2}]";
        String same = "\"sources\": \"experts.w\", \"targets\": \"experts.w\", ";
        assertRefused(head + same + transpose + "}]}", "converters[0]: its sources are its targets, so a key cannot "
                + "tell which layout its tensor is in; give v5_shape");
        assertRefused(head + "\"sources\": \"experts.w_t\", \"targets\": \"experts.w\", " + transpose
                + ", \"v5_shape\": [\"e\", \"h\", \"i\"]}]}", "converters[0]: v5_shape is for a converter whose "
                + "keys are the same in both layouts");
        assertRefused(head + same + transpose + ", \"v5_shape\": [\"e\", \"2 x h\", \"i\"]}]}",
                "converters[0].v5_shape[1]: '2 x h' is not a whole number, a config.json field");
        assertRefused(head + same + transpose + ", \"v5_shape\": [\"e\", true, \"i\"]}]}",
                "converters[0].v5_shape[1]: true is neither a positive whole number nor a string");
        assertRefused(head + same + transpose + ", \"v5_shape\": \"e, h, i\"}]}",
                "converters[0].v5_shape is \"e, h, i\", expected a list of 1 to 16 axes");
        assertRefused(head + same + transpose + ", \"v5_shape\": [\"e\", \"h\"]}]}",
                "converters[0]: transpose(1, 2) names an axis past the 2 axes of v5_shape [e, h]");
        assertRefused(head + same + transpose + ", \"v5_shape\": [\"e\", \"h\", \"h\"]}]}",
                "converters[0]: the operations give the legacy layout the same shape as v5_shape [e, h, h]");
        assertRefused(head + same + "\"operations\": [{\"op\": \"interleave\", \"dim\": 1}], "
                + "\"v5_shape\": [\"e\", \"h\", \"i\"]}]}", "its converter may only transpose, not interleave(dim=1)");
        assertRefused(head + "\"sources\": \"experts.*.w\", \"targets\": \"experts.*.w\", " + transpose
                + ", \"v5_shape\": [\"e\", \"h\", \"i\"]}]}", "takes one source without '*' to one target");
    }

    private void assertRefused(String json, String message) throws Exception {
        Path f = dir.resolve("bad.json");
        Files.writeString(f, json);
        assertThatThrownBy(() -> RuleBook.bundled().withFiles(List.of(f)))
                .isInstanceOfSatisfying(FuseboxException.class, e -> {
                    assertThat(e.problem()).isEqualTo(Problem.INVALID_RULES);
                    assertThat(e.file()).contains(f);
                })
                .hasMessageContaining(message);
    }

    @Test
    void withoutAConfigTheFamilyIsGuessedFromTheKeys() {
        RuleBook book = RuleBook.bundled();
        assertThat(book.guess(List.of("model.layers.0.mlp.experts.0.gate_proj.weight",
                "model.layers.0.mlp.experts.0.up_proj.weight", "model.layers.0.mlp.experts.0.down_proj.weight"))
                .orElseThrow().family()).isEqualTo("qwen2_moe");
        assertThat(book.guess(List.of("model.layers.0.mlp.experts.0.gate_proj.weight",
                "model.layers.0.mlp.e_score_correction_bias")).orElseThrow().family()).isEqualTo("exaone_moe");
        assertThat(book.guess(List.of("model.layers.0.block_sparse_moe.input_linear.weight",
                "model.layers.0.block_sparse_moe.output_linear.weight",
                "model.layers.0.block_sparse_moe.router.layer.weight")).orElseThrow().family()).isEqualTo("granitemoe");
        assertThat(book.guess(List.of("model.layers.0.block_sparse_moe.experts.gate_up_proj",
                "model.layers.0.block_sparse_moe.experts.down_proj",
                "model.layers.0.block_sparse_moe.router.weight")).orElseThrow().family()).isEqualTo("granitemoe");
        assertThat(book.guess(List.of("model.layers.0.feed_forward.experts.3.down_proj.weight"))
                .orElseThrow().family()).isEqualTo("jamba");
        assertThat(book.guess(List.of("backbone.layers.1.mixer.experts.0.up_proj.weight",
                "backbone.layers.1.mixer.experts.0.down_proj.weight", "backbone.norm_f.weight"))
                .orElseThrow().family()).isEqualTo("nemotron_h");
        // ernie4_5_vl_moe's rules, which also take these keys, do not win for a text model's checkpoint
        assertThat(book.guess(List.of("model.layers.0.mlp.experts.0.gate_proj.weight",
                "model.layers.0.mlp.moe_statics.e_score_correction_bias")).orElseThrow().family())
                .isEqualTo("ernie4_5_moe");
        // qwen3_vl_moe's converters need config.json to tell the layout, so keys alone never choose them
        assertThat(book.forModelType("qwen3_vl_moe").orElseThrow().fit(new KeyText(List.of(
                "model.language_model.layers.0.mlp.experts.gate_up_proj",
                "model.language_model.layers.0.mlp.experts.down_proj"))).used()).isZero();
        // nemotron_h's backbone → model renaming, read backwards, matches any model's keys; that alone is no fit
        assertThat(book.guess(List.of("model.embed_tokens.weight", "lm_head.weight"))).isEmpty();
    }

    @Test
    void theUserRuleFolderFollowsXdgConfigHome() {
        // The build points XDG_CONFIG_HOME into target/ so that tests never read the user's own rules.
        String xdg = System.getenv("XDG_CONFIG_HOME");
        assumeTrue(xdg != null && Path.of(xdg).isAbsolute());
        assertThat(RuleBook.userDirectory()).isEqualTo(Path.of(xdg, "fusebox", "rules"));
        assertThat(RuleBook.userDirectory().toString()).doesNotStartWith(System.getenv("HOME") + "/.config");
    }
}
