package dev.fusebox.converter.plan;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.tensor.TensorSpec;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static dev.fusebox.converter.TestCheckpoints.f32;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A plan's keys are the output's: rules and adapters decide them, so a clash is the input's fault. */
class ConversionPlanTest {

    @Test
    void twoTargetsUnderOneKeyAreTheInputsFaultNamingBothSources() {
        TensorSpec a = f32("model.a.weight", 2);
        TensorSpec b = f32("model.b.weight", 2);
        List<PlannedTarget> targets = List.of(renamed(a, "model.c.weight"), renamed(b, "model.c.weight"));
        Path source = Path.of("ckpt");
        assertThatThrownBy(() -> new ConversionPlan(source, "mixtral", "test", Layout.LEGACY, Layout.V5,
                List.of(a, b), targets))
                .isInstanceOfSatisfying(FuseboxException.class, e -> assertThat(e.problem())
                        .isEqualTo(Problem.KEY_COLLISION))
                .hasMessage("ckpt: tensor 'model.c.weight': two tensors would be written under this key (from "
                        + "'model.a.weight' and from 'model.b.weight'); each key of the output must be made once");
    }

    private static PlannedTarget renamed(TensorSpec source, String key) {
        return new PlannedTarget(new TensorSpec(key, source.dtype(), source.shape()), List.of(),
                new CopyRecipe(Assembly.of(source).placements()));
    }
}
