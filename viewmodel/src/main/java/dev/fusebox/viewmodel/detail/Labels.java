package dev.fusebox.viewmodel.detail;

import java.util.ArrayList;
import java.util.List;

/** Short names for sibling tensors: what is left of each key once the dotted prefix and suffix they share go. */
final class Labels {

    private Labels() {
    }

    /**
     * {@code [...experts.0.w1.weight, ...experts.0.w3.weight, ...experts.1.w1.weight]} gives {@code [0.w1, 0.w3,
     * 1.w1]}; a lone key gives its last name before {@code .weight}.
     */
    static List<String> distinct(List<String> keys) {
        if (keys.isEmpty()) {
            return List.of();
        }
        List<String[]> split = keys.stream().map(k -> k.split("\\.", -1)).toList();
        if (keys.size() == 1) {
            String[] s = split.getFirst();
            int last = s.length > 1 && s[s.length - 1].equals("weight") ? s.length - 2 : s.length - 1;
            return List.of(s[last]);
        }
        int shortest = split.stream().mapToInt(s -> s.length).min().orElse(0);
        int prefix = 0;
        while (prefix < shortest - 1 && shared(split, prefix, false)) {
            prefix++;
        }
        int suffix = 0;
        while (suffix < shortest - prefix - 1 && shared(split, suffix, true)) {
            suffix++;
        }
        List<String> out = new ArrayList<>();
        for (String[] s : split) {
            out.add(String.join(".", List.of(s).subList(prefix, s.length - suffix)));
        }
        return out;
    }

    /** Whether every key has the same name at {@code at}, counted from the start or from the end. */
    private static boolean shared(List<String[]> split, int at, boolean fromEnd) {
        String first = name(split.getFirst(), at, fromEnd);
        return split.stream().allMatch(s -> name(s, at, fromEnd).equals(first));
    }

    private static String name(String[] s, int at, boolean fromEnd) {
        return fromEnd ? s[s.length - 1 - at] : s[at];
    }
}
