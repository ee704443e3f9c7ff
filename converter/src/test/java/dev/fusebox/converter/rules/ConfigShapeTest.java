package dev.fusebox.converter.rules;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fusebox.converter.tensor.Shape;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigShapeTest {

    private static final ConfigShape GATE_UP = new ConfigShape(List.of(
            ConfigShape.Axis.parse("text_config.num_experts|text_config.num_local_experts"),
            ConfigShape.Axis.parse("2*text_config.moe_intermediate_size"), ConfigShape.Axis.parse("text_config.hidden_size")));

    private static JsonNode json(String text) throws Exception {
        return new ObjectMapper().readTree(text);
    }

    @Test
    void axesReadFieldsInNestedObjectsTheirMultiplesAndTheFirstAlternativeGiven() throws Exception {
        JsonNode v4 = json("{\"text_config\": {\"num_experts\": 128, \"moe_intermediate_size\": 768, \"hidden_size\": 2048}}");
        JsonNode v5 = json("{\"text_config\": {\"num_local_experts\": 4, \"num_experts\": null, "
                + "\"moe_intermediate_size\": 48, \"hidden_size\": 64}}");
        assertThat(GATE_UP.resolve(v4).shape()).contains(Shape.of(128, 1536, 2048));
        assertThat(GATE_UP.resolve(v5).shape()).contains(Shape.of(4, 96, 64));
        assertThat(new ConfigShape(List.of(ConfigShape.Axis.parse("3"), ConfigShape.Axis.parse("hidden_size")))
                .resolve(json("{\"hidden_size\": 8}")).shape()).contains(Shape.of(3, 8));
        assertThat(GATE_UP.toString())
                .isEqualTo("[text_config.num_experts|text_config.num_local_experts, 2*text_config.moe_intermediate_size, "
                        + "text_config.hidden_size]");
    }

    @Test
    void aConfigWithoutAPositiveWholeNumberForAnAxisSaysWhichField() throws Exception {
        assertThat(GATE_UP.resolve(json("{\"hidden_size\": 64}")))
                .isEqualTo(new ConfigShape.Resolved(Optional.empty(),
                        "config.json gives no text_config.num_experts or text_config.num_local_experts"));
        assertThat(GATE_UP.resolve(json("{\"text_config\": {\"num_experts\": 4, \"moe_intermediate_size\": 4.5, "
                + "\"hidden_size\": 64}}")).why())
                .isEqualTo("config.json's text_config.moe_intermediate_size is 4.5, not a positive whole number");
        assertThat(GATE_UP.resolve(json("{\"text_config\": {\"num_experts\": 0, \"moe_intermediate_size\": 4, "
                + "\"hidden_size\": 64}}")).why()).contains("num_experts is 0, not a positive whole number");
        assertThat(GATE_UP.resolve(json("{\"text_config\": {\"num_experts\": 4, \"moe_intermediate_size\": "
                + "9000000000000000000, \"hidden_size\": 64}}")).why()).contains("is too large");
    }

    @Test
    void anAxisThatIsNoNumberFieldOrMultipleIsRefused() {
        for (String bad : List.of("", "2*", "*h", "h*2", "a..b", "a|", "0", "0*h", "-1", "h.", "1e3", "2 * 3")) {
            assertThatThrownBy(() -> ConfigShape.Axis.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("is not a whole number, a config.json field");
        }
    }

    @Test
    void theLegacyShapeIsTheV5ShapeRunBackThroughTheTransposes() {
        LayoutShapes s = LayoutShapes.of(GATE_UP, List.of(new Operation.Transpose(1, 2)));
        assertThat(s.legacy().toString()).isEqualTo("[text_config.num_experts|text_config.num_local_experts, "
                + "text_config.hidden_size, 2*text_config.moe_intermediate_size]");
        assertThat(s.v5()).isEqualTo(GATE_UP);
    }

    @Test
    void aShapeReadsAsLegacyV5BothOrNeither() throws Exception {
        LayoutShapes s = LayoutShapes.of(GATE_UP, List.of(new Operation.Transpose(1, 2)));
        Optional<JsonNode> config = Optional.of(json("{\"text_config\": {\"num_experts\": 4, "
                + "\"moe_intermediate_size\": 48, \"hidden_size\": 64}}"));
        assertThat(s.read("k", Shape.of(4, 64, 96), config)).isEqualTo(new ShapeReading.Legacy("k"));
        assertThat(s.read("k", Shape.of(4, 96, 64), config)).isEqualTo(new ShapeReading.V5("k"));
        assertThat(s.read("k", Shape.of(4, 64, 64), config)).isEqualTo(new ShapeReading.Neither("k", Shape.of(4, 64, 64),
                Shape.of(4, 64, 96), Shape.of(4, 96, 64), s));
        Optional<JsonNode> square = Optional.of(json("{\"text_config\": {\"num_experts\": 4, "
                + "\"moe_intermediate_size\": 32, \"hidden_size\": 64}}"));
        assertThat(s.read("k", Shape.of(4, 64, 64), square)).isEqualTo(new ShapeReading.Both("k", Shape.of(4, 64, 64), s));
        assertThat(s.read("k", Shape.of(4, 64, 96), Optional.empty())).isInstanceOf(ShapeReading.Unresolved.class);
    }
}
