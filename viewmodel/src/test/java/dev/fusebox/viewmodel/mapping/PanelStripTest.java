package dev.fusebox.viewmodel.mapping;

import org.junit.jupiter.api.Test;

import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

class PanelStripTest {

    @Test
    void aFewExpertsArePanelsToScaleEachLabelled() {
        PanelStrip s = PanelStrip.fit(4, 60, 800, 40);
        assertThat(s.bands()).isFalse();
        assertThat(s.width()).isEqualTo(60);
        assertThat(s.step()).isEqualTo(70);
        assertThat(s.labelEvery()).isEqualTo(1);
    }

    @Test
    void sixteenExpertsSqueezeIntoTheWidthWithoutOverlapping() {
        PanelStrip s = PanelStrip.fit(16, 200, 800, 40);
        assertThat(s.bands()).isFalse();
        assertThat(s.width()).isEqualTo((800 - 10 * 15) / 16.0);
        assertThat(15 * s.step() + s.width()).isLessThanOrEqualTo(800);
        assertThat(s.labelEvery()).isEqualTo(1);
    }

    @Test
    void twoHundredFiftySixExpertsAreEachAThinBandLabelledEverySixteenth() {
        // 800 px / 256 = 3.125 px a band; a 40 px label needs 13 bands, rounded up to a power of two: 16.
        PanelStrip s = PanelStrip.fit(256, 200, 800, 40);
        assertThat(s.bands()).isTrue();
        assertThat(s.panels()).isEqualTo(256);
        assertThat(s.step()).isEqualTo(3.125);
        assertThat(s.width()).isEqualTo(3.125);
        assertThat(s.labelEvery()).isEqualTo(16);
        assertThat(IntStream.range(0, 256).filter(s::labelled)).hasSize(16).startsWith(0, 16).endsWith(240);
        assertThat(255 * s.step() + s.width()).isEqualTo(800);
        // Labels 16 bands apart are 50 px apart: wider than a label, so none overlaps the next.
        assertThat(s.labelEvery() * s.step()).isGreaterThanOrEqualTo(40);
    }

    @Test
    void wideBandsKeepAPixelBetweenThem() {
        PanelStrip s = PanelStrip.fit(60, 200, 960, 40);
        assertThat(s.bands()).isTrue();
        assertThat(s.step()).isEqualTo(16);
        assertThat(s.width()).isEqualTo(15);
        assertThat(s.labelEvery()).isEqualTo(4);
    }
}
