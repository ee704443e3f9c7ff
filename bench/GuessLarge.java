import dev.fusebox.converter.rules.RuleBook;

import java.util.ArrayList;
import java.util.List;

/**
 * Guessing a family from keys alone (a checkpoint without config.json) on the largest header Fusebox accepts,
 * 262 144 tensors, with keys of three kinds: plain names no rule knows ("t123", the worst case: every key is its
 * own shape), a legacy Mixtral's and a qwen2_moe-style model's (64 layers x 1 024 experts). One line per pass:
 * milliseconds of RuleBook.guess for each kind, and the family it found.
 *
 * <pre>
 *   java -cp converter/target/classes:&lt;the converter's dependencies&gt; bench/GuessLarge.java 5
 * </pre>
 */
public class GuessLarge {

    static final int TENSORS = 262_144;

    public static void main(String[] args) {
        int passes = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        List<List<String>> kinds = List.of(keys("plain"), keys("mixtral"), keys("qwen"));
        RuleBook book = RuleBook.bundled();
        for (int p = 0; p < passes; p++) {
            List<String> line = new ArrayList<>();
            for (List<String> keys : kinds) {
                long start = System.nanoTime();
                String family = book.guess(keys).map(r -> r.family()).orElse("none");
                line.add(String.format("%.0f ms (%s)", (System.nanoTime() - start) / 1e6, family));
            }
            System.out.println(String.join("  ", line));
        }
    }

    static List<String> keys(String kind) {
        List<String> out = new ArrayList<>(TENSORS);
        String[] mixtral = {"w1", "w2", "w3", "x"};
        String[] qwen = {"gate_proj", "up_proj", "down_proj", "x"};
        for (int i = 0; i < TENSORS; i++) {
            int layer = i / 4096;
            int expert = i % 4096 / 4;
            out.add(switch (kind) {
                case "plain" -> "t" + i;
                case "mixtral" -> "model.layers." + layer + ".block_sparse_moe.experts." + expert + "."
                        + mixtral[i % 4] + ".weight";
                default -> "model.layers." + layer + ".mlp.experts." + expert + "." + qwen[i % 4] + ".weight";
            });
        }
        return out;
    }
}
