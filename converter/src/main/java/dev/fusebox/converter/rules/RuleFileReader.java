package dev.fusebox.converter.rules;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.PatternSyntaxException;

/**
 * Reads one rule file: a JSON object with {@code family}, {@code model_types}, an optional {@code description},
 * an optional {@code extends} (a family read before, whose rules come first), {@code renamings} and
 * {@code converters}, or {@code born_fused: true} for a family that has only the fused layout. Unknown fields are refused, so a misspelt field is an error rather than a rule silently
 * missing. Every error names the file and the rule.
 */
final class RuleFileReader {

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    private static final Set<String> TOP = Set.of("family", "model_types", "description", "extends", "renamings",
            "converters", "born_fused");
    private static final Set<String> RENAMING = Set.of("from", "to", "reverse", "one_way");
    private static final Set<String> CONVERTER = Set.of("sources", "targets", "operations", "v5_shape");

    private RuleFileReader() {
    }

    /**
     * Parses {@code text} read from {@code origin}; {@code earlier} finds the families an {@code extends} may
     * name. {@code file} is the path for messages (null for a bundled resource).
     */
    static RuleSet read(String text, Path file, String origin, Function<String, Optional<RuleSet>> earlier)
            throws FuseboxException {
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw error(file, origin, "is not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (root == null || !root.isObject()) {
            throw error(file, origin, "is not a JSON object");
        }
        refuseUnknown(file, origin, root, TOP, "the rule file");
        String family = string(file, origin, root, "family", true);
        List<String> modelTypes = strings(file, origin, root, "model_types");
        String description = Optional.ofNullable(string(file, origin, root, "description", false)).orElse("");
        List<Renaming> renamings = new ArrayList<>();
        List<Converter> converters = new ArrayList<>();
        String base = string(file, origin, root, "extends", false);
        if (base != null) {
            RuleSet parent = earlier.apply(base).orElseThrow(() -> error(file, origin,
                    "extends the family '" + base + "', which no rule file read before it defines"));
            renamings.addAll(parent.renamings());
            converters.addAll(parent.converters());
        }
        JsonNode rs = root.get("renamings");
        if (rs != null) {
            if (!rs.isArray()) {
                throw error(file, origin, "renamings is not a list");
            }
            for (int i = 0; i < rs.size(); i++) {
                renamings.add(renaming(file, origin, rs.get(i), "renamings[" + i + "]"));
            }
        }
        JsonNode cs = root.get("converters");
        if (cs != null) {
            if (!cs.isArray()) {
                throw error(file, origin, "converters is not a list");
            }
            for (int i = 0; i < cs.size(); i++) {
                converters.add(converter(file, origin, cs.get(i), "converters[" + i + "]"));
            }
        }
        JsonNode bornFusedNode = root.get("born_fused");
        if (bornFusedNode != null && !bornFusedNode.isBoolean()) {
            throw error(file, origin, "born_fused is not true or false");
        }
        boolean bornFused = bornFusedNode != null && bornFusedNode.booleanValue();
        if (bornFused && (!renamings.isEmpty() || !converters.isEmpty() || base != null)) {
            throw error(file, origin, "is born_fused, so it has nothing to convert: no renamings, converters or "
                    + "extends");
        }
        if (renamings.isEmpty() && converters.isEmpty() && !bornFused) {
            throw error(file, origin, "defines no renaming and no converter (a family whose checkpoints are fused "
                    + "from the start says \"born_fused\": true)");
        }
        return new RuleSet(family, modelTypes, description, renamings, converters, origin, bornFused);
    }

    private static Renaming renaming(Path file, String origin, JsonNode node, String where) throws FuseboxException {
        if (!node.isObject()) {
            throw error(file, origin, where + " is not a JSON object");
        }
        refuseUnknown(file, origin, node, RENAMING, where);
        String from = string(file, origin, node, "from", true, where);
        String to = string(file, origin, node, "to", true, where);
        JsonNode oneWayNode = node.get("one_way");
        if (oneWayNode != null && !oneWayNode.isBoolean()) {
            throw error(file, origin, where + ".one_way is not true or false");
        }
        boolean oneWay = oneWayNode != null && oneWayNode.booleanValue();
        JsonNode rev = node.get("reverse");
        Optional<Renaming> reverse = Optional.empty();
        if (rev != null) {
            if (oneWay) {
                throw error(file, origin, where + " is marked one_way but also gives a reverse");
            }
            if (!rev.isObject()) {
                throw error(file, origin, where + ".reverse is not a JSON object with from and to");
            }
            refuseUnknown(file, origin, rev, Set.of("from", "to"), where + ".reverse");
            String rf = string(file, origin, rev, "from", true, where + ".reverse");
            String rt = string(file, origin, rev, "to", true, where + ".reverse");
            try {
                reverse = Optional.of(Renaming.plain(rf, rt));
            } catch (PatternSyntaxException e) {
                throw error(file, origin, where + ".reverse.from is not a valid regular expression ("
                        + e.getDescription() + ")");
            }
        }
        try {
            return Renaming.of(from, to, reverse, oneWay);
        } catch (PatternSyntaxException e) {
            throw error(file, origin, where + ".from is not a valid regular expression (" + e.getDescription() + ")");
        } catch (IllegalArgumentException e) {
            throw error(file, origin, where + ": " + e.getMessage());
        }
    }

    private static Converter converter(Path file, String origin, JsonNode node, String where) throws FuseboxException {
        if (!node.isObject()) {
            throw error(file, origin, where + " is not a JSON object");
        }
        refuseUnknown(file, origin, node, CONVERTER, where);
        try {
            List<KeyPattern> sources = patterns(file, origin, node, "sources", where);
            List<KeyPattern> targets = patterns(file, origin, node, "targets", where);
            JsonNode ops = node.get("operations");
            if (ops == null || !ops.isArray()) {
                throw error(file, origin, where + ".operations is missing or not a list");
            }
            List<Operation> operations = new ArrayList<>();
            for (int i = 0; i < ops.size(); i++) {
                operations.add(operation(file, origin, ops.get(i), where + ".operations[" + i + "]"));
            }
            Converter converter = node.has("v5_shape")
                    ? Converter.shapeTold(sources, targets, operations,
                    configShape(file, origin, node.get("v5_shape"), where + ".v5_shape"))
                    : new Converter(sources, targets, operations);
            // Its reverse is built when converting back; any rule it breaks is this file's, said now.
            converter.reversed();
            return converter;
        } catch (IllegalArgumentException e) {
            throw error(file, origin, where + ": " + e.getMessage());
        }
    }

    private static Operation operation(Path file, String origin, JsonNode node, String where) throws FuseboxException {
        if (!node.isObject()) {
            throw error(file, origin, where + " is not a JSON object such as {\"op\": \"stack\", \"dim\": 0}");
        }
        String op = string(file, origin, node, "op", true, where);
        Operation.Syntax syntax = Operation.named(op).orElseThrow(() -> error(file, origin, where
                + " names the operation '" + op + "'; known: "
                + String.join(", ", Operation.known().stream().map(Operation.Syntax::name).toList())));
        Set<String> known = new HashSet<>(syntax.fields());
        known.add("op");
        refuseUnknown(file, origin, node, known, where);
        return syntax.factory().make(new Operation.Fields() {
            @Override
            public int dim(String name) throws FuseboxException {
                return RuleFileReader.dim(file, origin, node, name, where);
            }

            @Override
            public boolean flag(String name) throws FuseboxException {
                JsonNode v = node.get(name);
                if (v != null && !v.isBoolean()) {
                    throw error(file, origin, where + "." + name + " is not true or false");
                }
                return v != null && v.booleanValue();
            }
        });
    }

    /** A {@code v5_shape}: a list of axes, each a whole number or a string that {@link ConfigShape.Axis} reads. */
    private static ConfigShape configShape(Path file, String origin, JsonNode node, String where)
            throws FuseboxException {
        if (!node.isArray() || node.isEmpty() || node.size() > 16) {
            throw error(file, origin, where + " is " + node + ", expected a list of 1 to 16 axes such as "
                    + "[\"num_experts\", \"2*moe_intermediate_size\", \"hidden_size\"]");
        }
        List<ConfigShape.Axis> axes = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            JsonNode a = node.get(i);
            try {
                if (a.isIntegralNumber() && a.canConvertToInt() && a.intValue() > 0) {
                    axes.add(ConfigShape.Axis.parse(Integer.toString(a.intValue())));
                } else if (a.isTextual()) {
                    axes.add(ConfigShape.Axis.parse(a.textValue()));
                } else {
                    throw new IllegalArgumentException(a + " is neither a positive whole number nor a string");
                }
            } catch (IllegalArgumentException e) {
                throw error(file, origin, where + "[" + i + "]: " + e.getMessage());
            }
        }
        return new ConfigShape(axes);
    }

    private static int dim(Path file, String origin, JsonNode node, String field, String where)
            throws FuseboxException {
        JsonNode v = node.get(field);
        if (v == null || !v.isIntegralNumber() || v.intValue() < 0 || v.intValue() > 16) {
            throw error(file, origin, where + "." + field + " is " + v + ", expected an axis from 0 to 16");
        }
        return v.intValue();
    }

    private static List<KeyPattern> patterns(Path file, String origin, JsonNode node, String field, String where)
            throws FuseboxException {
        JsonNode v = node.get(field);
        List<KeyPattern> out = new ArrayList<>();
        if (v != null && v.isTextual()) {
            out.add(new KeyPattern(v.textValue()));
        } else if (v != null && v.isArray() && !v.isEmpty()) {
            for (JsonNode e : v) {
                if (!e.isTextual()) {
                    throw error(file, origin, where + "." + field + " holds " + e + ", expected key patterns");
                }
                out.add(new KeyPattern(e.textValue()));
            }
        } else {
            throw error(file, origin, where + "." + field + " is missing; expected a key pattern or a list of them");
        }
        return out;
    }

    private static void refuseUnknown(Path file, String origin, JsonNode node, Set<String> known, String where)
            throws FuseboxException {
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!known.contains(e.getKey())) {
                throw error(file, origin, where + " has the unknown field '" + e.getKey() + "' (known: "
                        + String.join(", ", known.stream().sorted().toList()) + ")");
            }
        }
    }

    private static String string(Path file, String origin, JsonNode node, String field, boolean required)
            throws FuseboxException {
        return string(file, origin, node, field, required, "the rule file");
    }

    private static String string(Path file, String origin, JsonNode node, String field, boolean required,
                                 String where) throws FuseboxException {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            if (required) {
                throw error(file, origin, where + " has no " + field);
            }
            return null;
        }
        if (!v.isTextual() || v.textValue().isEmpty()) {
            throw error(file, origin, where + "." + field + " is " + v + ", expected a non-empty string");
        }
        return v.textValue();
    }

    private static List<String> strings(Path file, String origin, JsonNode node, String field)
            throws FuseboxException {
        JsonNode v = node.get(field);
        if (v == null || !v.isArray() || v.isEmpty()) {
            throw error(file, origin, field + " is missing or empty; expected the model types the rules cover");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isTextual() || e.textValue().isEmpty()) {
                throw error(file, origin, field + " holds " + e + ", expected model type names");
            }
            out.add(e.textValue());
        }
        return out;
    }

    private static FuseboxException error(Path file, String origin, String detail) {
        return new FuseboxException(Problem.INVALID_RULES, file, (file == null ? "rule file " + origin + ": " : "")
                + detail);
    }
}
