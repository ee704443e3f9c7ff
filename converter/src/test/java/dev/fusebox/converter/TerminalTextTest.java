package dev.fusebox.converter;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.assertj.core.api.Assertions.assertThat;

class TerminalTextTest {

    @Test
    void controlCharactersAndBidiOverridesAreEscaped() {
        assertThat(TerminalText.escape("a\nb\tc\u001b[2Jd\u007f\u009b\u202ee")).isEqualTo(
                "a\\nb\\tc\\x1b[2Jd\\x7f\\x9b\\u202ee");
        assertThat(TerminalText.escape("model.layers.0.mlp.experts.gate_up_proj é")).isEqualTo(
                "model.layers.0.mlp.experts.gate_up_proj é");
    }

    @Test
    void aPrinterKeepsOnlyTheCharactersItIsToldTo() {
        StringWriter s = new StringWriter();
        PrintWriter p = TerminalText.printer(s, "\n", false);
        p.print("x\u001b]0;title\u0007\r");
        p.println("y");
        p.flush();
        assertThat(s.toString()).isEqualTo("x\\x1b]0;title\\x07\\ry" + System.lineSeparator());
    }
}
