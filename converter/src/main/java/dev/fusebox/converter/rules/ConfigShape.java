package dev.fusebox.converter.rules;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fusebox.converter.tensor.Shape;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A tensor shape in config.json's terms, as a rule's {@code v5_shape} writes it: each axis a whole number, a field
 * ({@code text_config.hidden_size}, dotted into nested objects), a multiple of one
 * ({@code 2*text_config.moe_intermediate_size}), or alternatives separated by {@code |} for a field that
 * transformers versions spell differently ({@code text_config.num_experts|text_config.num_local_experts}); the
 * first alternative config.json gives counts.
 */
public record ConfigShape(List<Axis> axes) {

    private static final Pattern TERM = Pattern.compile(
            "(?:([1-9][0-9]{0,8})\\*)?([A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z_][A-Za-z0-9_]*)*)|([1-9][0-9]{0,8})");

    public ConfigShape {
        axes = List.copyOf(axes);
        if (axes.isEmpty()) {
            throw new IllegalArgumentException("a shape needs at least one axis");
        }
    }

    /** One axis: alternatives, the first that config.json gives counting. */
    public record Axis(List<Term> alternatives) {

        public Axis {
            alternatives = List.copyOf(alternatives);
            if (alternatives.isEmpty()) {
                throw new IllegalArgumentException("an axis needs a term");
            }
        }

        /** Reads an axis as a rule file writes it; throws IllegalArgumentException saying what is expected. */
        public static Axis parse(String text) {
            List<Term> terms = new ArrayList<>();
            for (String part : text.split("\\|", -1)) {
                Matcher m = TERM.matcher(part.strip());
                if (!m.matches()) {
                    throw new IllegalArgumentException("'" + text + "' is not a whole number, a config.json field "
                            + "(text_config.hidden_size), a multiple of one (2*text_config.moe_intermediate_size) "
                            + "or such terms separated by '|'");
                }
                terms.add(m.group(3) != null ? new Term(Long.parseLong(m.group(3)), List.of())
                        : new Term(m.group(1) == null ? 1 : Long.parseLong(m.group(1)),
                        List.of(m.group(2).split("\\."))));
            }
            return new Axis(terms);
        }

        @Override
        public String toString() {
            return alternatives.stream().map(Term::toString).collect(Collectors.joining("|"));
        }
    }

    /** {@code factor} times the field at {@code path} (a constant when the path is empty). */
    public record Term(long factor, List<String> path) {

        public Term {
            path = List.copyOf(path);
        }

        /** The field as the rule file writes it, without the factor. */
        String field() {
            return String.join(".", path);
        }

        /** Whether {@code config} gives this term: a constant always does, a field when present and not null. */
        boolean givenIn(JsonNode config) {
            return path.isEmpty() || node(config) != null;
        }

        /** The field's value in {@code config}, or null when it lacks it. */
        JsonNode node(JsonNode config) {
            JsonNode n = config;
            for (String name : path) {
                n = n != null && n.isObject() ? n.get(name) : null;
            }
            return n == null || n.isNull() ? null : n;
        }

        @Override
        public String toString() {
            return path.isEmpty() ? Long.toString(factor) : factor == 1 ? field() : factor + "*" + field();
        }
    }

    /** This shape with axes {@code dim0} and {@code dim1} swapped. */
    ConfigShape swapped(int dim0, int dim1) {
        List<Axis> out = new ArrayList<>(axes);
        out.set(dim0, axes.get(dim1));
        out.set(dim1, axes.get(dim0));
        return new ConfigShape(out);
    }

    /** The shape {@code config} gives, or why it gives none. */
    public Resolved resolve(JsonNode config) {
        long[] dims = new long[axes.size()];
        for (int i = 0; i < dims.length; i++) {
            Axis axis = axes.get(i);
            Optional<Term> given = axis.alternatives().stream().filter(t -> t.givenIn(config)).findFirst();
            if (given.isEmpty()) {
                return Resolved.none("config.json gives no " + String.join(" or ",
                        axis.alternatives().stream().map(Term::field).toList()));
            }
            Term t = given.get();
            if (t.path().isEmpty()) {
                dims[i] = t.factor();
                continue;
            }
            JsonNode v = t.node(config);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() <= 0) {
                return Resolved.none("config.json's " + t.field() + " is " + v + ", not a positive whole number");
            }
            try {
                dims[i] = Math.multiplyExact(t.factor(), v.longValue());
            } catch (ArithmeticException e) {
                return Resolved.none("config.json's " + t.field() + " is too large");
            }
        }
        return new Resolved(Optional.of(Shape.of(dims)), "");
    }

    /** A shape resolved against a config: the shape, or (when empty) why there is none, in words. */
    public record Resolved(Optional<Shape> shape, String why) {

        static Resolved none(String why) {
            return new Resolved(Optional.empty(), why);
        }
    }

    @Override
    public String toString() {
        return axes.stream().map(Axis::toString).collect(Collectors.joining(", ", "[", "]"));
    }
}
