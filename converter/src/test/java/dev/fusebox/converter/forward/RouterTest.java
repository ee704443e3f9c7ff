package dev.fusebox.converter.forward;

import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The routers on hand-made logits, against the arithmetic of the families' modeling files done by hand here. */
class RouterTest {

    private static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    // 4 groups of 2: {0, 1} scores 0.881 + 0.119, {2, 3} 0.731 + 0.622, {4, 5} 0.5 + 0.953, {6, 7} 0.269 + 0.269
    private static final float[] LOGITS = {2, -2, 1, 0.5f, 0, 3, -1, -1};

    @Test
    void theGroupLimitKeepsTheBestGroupsSoTheSecondBestExpertOverallIsLeftOut() {
        GroupLimitedSigmoidRouter router = new GroupLimitedSigmoidRouter(8, 3, 4, 2, true, 2.5);
        RouterOutput r = router.route(0, LOGITS, 1, Optional.empty());
        // groups {4, 5} and {2, 3} are kept; expert 0 (0.881) is not among them
        assertThat(r.chosen(0)).containsExactly(5, 2, 3);
        double sum = sigmoid(3) + sigmoid(1) + sigmoid(0.5);
        assertThat(r.weights()[0]).isCloseTo((float) (sigmoid(3) / sum * 2.5), within(1e-6f));
        assertThat(r.weights()[1]).isCloseTo((float) (sigmoid(1) / sum * 2.5), within(1e-6f));
        assertThat(r.weights()[2]).isCloseTo((float) (sigmoid(0.5) / sum * 2.5), within(1e-6f));
    }

    @Test
    void theCorrectionBiasChangesTheChoiceButNotTheWeights() {
        float[] bias = {0, 0, 0, 0, 0.5f, 0, 0, 0};
        RouterOutput r = new GroupLimitedSigmoidRouter(8, 3, 4, 2, false, 1.0).route(0, LOGITS, 1, Optional.of(bias));
        // expert 4 is chosen on 0.5 + 0.5, weighted by its unbiased 0.5; top-k not renormalised
        assertThat(r.chosenSet(0)).containsExactly(2, 4, 5);
        assertThat(r.chosen(0)).containsExactly(5, 2, 4);
        assertThat(r.weights()[2]).isCloseTo(0.5f, within(1e-7f));
        assertThat(r.weights()[0]).isCloseTo((float) sigmoid(3), within(1e-7f));
    }

    @Test
    void oneGroupIsThePlainTopK() {
        RouterOutput r = new GroupLimitedSigmoidRouter(8, 2, 1, 1, true, 1.0).route(0, LOGITS, 1, Optional.empty());
        assertThat(r.chosen(0)).containsExactly(5, 0);
        assertThat(r.weights()[0] + r.weights()[1]).isCloseTo(1f, within(1e-6f));
    }

    @Test
    void groupsThatDoNotDivideTheExpertsAreRefused() {
        assertThatThrownBy(() -> new GroupLimitedSigmoidRouter(8, 2, 3, 1, true, 1.0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("8 experts in 3 groups");
        assertThatThrownBy(() -> new GroupLimitedSigmoidRouter(8, 5, 4, 2, true, 1.0))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void ernieChoosesOnTheProbabilitiesPlusTheBiasAndRenormalisesTheUnbiasedOnes() {
        float[] logits = {0, 1, 2, 3};
        double total = 1 + Math.E + Math.exp(2) + Math.exp(3);
        double p0 = 1 / total;
        double p3 = Math.exp(3) / total;
        RouterOutput plain = new SoftmaxRouter(4, 2, true, 1e-12).route(0, logits, 1, Optional.empty());
        assertThat(plain.chosen(0)).containsExactly(3, 2);
        // p0 + 0.7 = 0.73 beats p2 = 0.24 and p3 = 0.64
        RouterOutput biased = new SoftmaxRouter(4, 2, true, 1e-12).route(0, logits, 1,
                Optional.of(new float[] {0.7f, 0, 0, 0}));
        assertThat(biased.chosen(0)).containsExactly(3, 0);
        assertThat(biased.weights()[0]).isCloseTo((float) (p3 / (p0 + p3)), within(1e-6f));
        assertThat(biased.weights()[1]).isCloseTo((float) (p0 / (p0 + p3)), within(1e-6f));
    }

    @Test
    void withoutNormTopKTheSoftmaxWeightsAreTheProbabilities() {
        float[] logits = {0, 1, 2, 3};
        double total = 1 + Math.E + Math.exp(2) + Math.exp(3);
        RouterOutput r = new SoftmaxRouter(4, 2, false, 0).route(0, logits, 1, Optional.empty());
        assertThat(r.weights()[0]).isCloseTo((float) (Math.exp(3) / total), within(1e-6f));
        assertThat(r.weights()[1]).isCloseTo((float) (Math.exp(2) / total), within(1e-6f));
    }
}
