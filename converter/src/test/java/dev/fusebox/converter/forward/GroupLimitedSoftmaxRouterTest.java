package dev.fusebox.converter.forward;

import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** DeepSeek-V2's router on hand-made logits: probabilities 0.1, 0.35, 0.25, 0.3 of experts 0-3. */
class GroupLimitedSoftmaxRouterTest {

    private static final float[] LOGITS = {0f, (float) Math.log(3.5), (float) Math.log(2.5), (float) Math.log(3)};

    @Test
    void greedyTakesTheTopKOfAllExpertsScaledAndNotRenormalised() {
        RouterOutput r = new GroupLimitedSoftmaxRouter(4, 2, 1, 1, 1.5).route(0, LOGITS, 1, Optional.empty());
        assertThat(r.chosen()).containsExactly(1, 3);
        assertThat(r.weights()[0]).isCloseTo(0.35f * 1.5f, within(1e-6f));
        assertThat(r.weights()[1]).isCloseTo(0.3f * 1.5f, within(1e-6f));
    }

    @Test
    void theGroupLimitKeepsTheGroupWithTheBestProbabilityAndChoosesInsideIt() {
        // groups {0, 1} (best 0.35) and {2, 3} (best 0.3, though their sum is larger): the first is kept
        RouterOutput r = new GroupLimitedSoftmaxRouter(4, 2, 2, 1, 1.5).route(0, LOGITS, 1, Optional.empty());
        assertThat(r.chosen()).containsExactly(1, 0);
        assertThat(r.weights()[0]).isCloseTo(0.35f * 1.5f, within(1e-6f));
        assertThat(r.weights()[1]).isCloseTo(0.1f * 1.5f, within(1e-6f));
    }
}
