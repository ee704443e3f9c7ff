package dev.fusebox.converter.plan;

import dev.fusebox.converter.rules.Converter;
import dev.fusebox.converter.rules.DirectedRules;
import dev.fusebox.converter.rules.KeyPattern;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The expert modules a family's converters take, in one direction, so that a tensor in one of them that no
 * converter consumes can be found: the text a per-expert source pattern has before its index
 * ({@code mlp.experts.*.gate_proj.weight} → {@code mlp.experts.} and an index), or a fused source's parent module
 * ({@code mlp.experts.gate_up_proj} → {@code mlp.experts.}). Only modules named {@code experts} count.
 *
 * @param perExpert heads followed by an expert index and a dot
 * @param fused     heads under which any key lies in the module
 */
record ExpertModules(List<String> perExpert, List<String> fused) {

    ExpertModules {
        perExpert = List.copyOf(perExpert);
        fused = List.copyOf(fused);
    }

    static ExpertModules of(DirectedRules rules) {
        Set<String> perExpert = new LinkedHashSet<>();
        Set<String> fused = new LinkedHashSet<>();
        for (Converter c : rules.converters()) {
            for (KeyPattern p : c.sources()) {
                String text = p.text();
                int star = text.indexOf('*');
                String head = star >= 0 ? text.substring(0, star) : text.substring(0, text.lastIndexOf('.') + 1);
                if (head.endsWith("experts.")) {
                    (star >= 0 ? perExpert : fused).add(head);
                }
            }
        }
        return new ExpertModules(List.copyOf(perExpert), List.copyOf(fused));
    }

    /**
     * Whether {@code key} (a converter input) lies in one of the modules: a head at the key's start or after a
     * dot, followed, for a per-expert head, by an index and a dot.
     */
    boolean holds(String key) {
        for (String head : fused) {
            if (find(key, head, false)) {
                return true;
            }
        }
        for (String head : perExpert) {
            if (find(key, head, true)) {
                return true;
            }
        }
        return false;
    }

    private static boolean find(String key, String head, boolean indexed) {
        for (int at = key.indexOf(head); at >= 0; at = key.indexOf(head, at + 1)) {
            if (!head.startsWith(".") && at > 0 && key.charAt(at - 1) != '.') {
                continue;
            }
            int i = at + head.length();
            if (!indexed) {
                return true;
            }
            int digits = i;
            while (digits < key.length() && Character.isDigit(key.charAt(digits))) {
                digits++;
            }
            if (digits > i && digits < key.length() && key.charAt(digits) == '.') {
                return true;
            }
        }
        return false;
    }
}
