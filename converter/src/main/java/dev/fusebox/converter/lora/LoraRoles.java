package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.rules.Converter;
import dev.fusebox.converter.rules.DirectedRules;
import dev.fusebox.converter.rules.Direction;
import dev.fusebox.converter.rules.KeyPattern;
import dev.fusebox.converter.rules.Operation;
import dev.fusebox.converter.rules.RuleSet;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What a family's conversion rules mean for LoRA: which legacy modules become slices of a stacked v5 parameter
 * (and which branch and expert they are), which is the router (PEFT targets its {@code weight} parameter on v5),
 * and which stay modules, perhaps renamed. A converter carries LoRA factors when it stacks experts
 * ({@code stack(dim=0)}) and, for two or more sources, concatenates them along the output axis
 * ({@code concat(dim=1)}) — the gate/up fusion; other converters are refused for adapters, by name.
 */
public final class LoraRoles {

    /** The legacy leaf name of the router, which PEFT 0.21 maps to the parameter {@code gate.weight}. */
    static final String ROUTER = "gate";

    private final RuleSet rules;
    private final String modelType;
    private final boolean guessed;
    private final DirectedRules toV5;
    private final DirectedRules toLegacy;

    /**
     * @param modelType the model type, from the base model's config, or guessed from the keys ({@code guessed})
     */
    public LoraRoles(RuleSet rules, String modelType, boolean guessed) {
        this.rules = rules;
        this.modelType = modelType;
        this.guessed = guessed;
        this.toV5 = rules.toward(Direction.TO_V5);
        this.toLegacy = rules.toward(Direction.TO_LEGACY);
    }

    public RuleSet rules() {
        return rules;
    }

    public String modelType() {
        return modelType;
    }

    /** Whether the model type is a guess from the keys (no base model config said it). */
    public boolean modelTypeGuessed() {
        return guessed;
    }

    /** A module's place across the boundary. */
    public sealed interface Role permits Expert, Router, Plain {
    }

    /**
     * Expert {@code expert}'s branch {@code branch} (of {@code branches}, e.g. w1 = 0 and w3 = 1 of gate_up_proj)
     * of the v5 parameter {@code param}, made by converter {@code converter} of the family.
     */
    public record Expert(String param, int converter, int branch, int branches, int expert) implements Role {
    }

    /** The router, whose LoRA targets the v5 parameter {@code param} ({@code ….mlp.gate.weight}). */
    public record Router(String param) implements Role {

        /** What {@code target_parameters} lists for every layer's router: {@code gate.weight}. */
        public String leaf() {
            String module = param.substring(0, param.length() - ".weight".length());
            return module.substring(module.lastIndexOf('.') + 1) + ".weight";
        }

        /** The router module. */
        public String module() {
            return param.substring(0, param.length() - ".weight".length());
        }
    }

    /** A module on both sides, named {@code module} in the other layout. */
    public record Plain(String module) implements Role {
    }

    /** The role of legacy module {@code module}, with its v5 names. */
    public Role ofLegacy(Path file, String module) throws FuseboxException {
        String weight = module + ".weight";
        Optional<DirectedRules.ConverterMatch> m = toV5.converterFor(file, weight);
        if (m.isPresent()) {
            DirectedRules.ConverterMatch cm = m.get();
            Converter c = toV5.converters().get(cm.converter());
            requireLoraCapable(file, module, c);
            String param = toV5.outputKey(c.targets().getFirst(), cm.match(), -1);
            return new Expert(param, cm.converter(), cm.source(), c.sources().size(), cm.match().index());
        }
        String renamed = toV5.rename(weight);
        if (!renamed.endsWith(".weight")) {
            throw new FuseboxException(Problem.UNSUPPORTED, file, module, "the " + rules.family() + " rules turn its "
                    + "weight into '" + renamed + "', which is no module's weight; its LoRA has no v5 form");
        }
        String v5 = renamed.substring(0, renamed.length() - ".weight".length());
        return leaf(module).equals(ROUTER) ? new Router(renamed) : new Plain(v5);
    }

    /**
     * The legacy module whose LoRA is branch {@code branch} of expert {@code expert} of v5 parameter {@code param}
     * (for a stacked parameter), else empty.
     */
    public Optional<String> legacyExpertModule(Path file, String param, int branch, int expert)
            throws FuseboxException {
        Optional<DirectedRules.ConverterMatch> m = toLegacy.converterFor(file, param);
        if (m.isEmpty()) {
            return Optional.empty();
        }
        Converter back = toLegacy.converters().get(m.get().converter());
        String weight = toLegacy.outputKey(back.targets().get(branch), m.get().match(), expert);
        return Optional.of(weight.substring(0, weight.length() - ".weight".length()));
    }

    /** The stacked v5 parameter {@code param}'s converter index and branch count, when it is one. */
    public Optional<Stacked> stacked(Path file, String param) throws FuseboxException {
        Optional<DirectedRules.ConverterMatch> m = toLegacy.converterFor(file, param);
        if (m.isEmpty()) {
            return Optional.empty();
        }
        Converter c = rules.converters().get(m.get().converter());
        requireLoraCapable(file, param, c);
        return Optional.of(new Stacked(m.get().converter(), c.sources().size()));
    }

    /** A stacked v5 parameter: made by converter {@code converter} from {@code branches} per-expert sources. */
    public record Stacked(int converter, int branches) {
    }

    /**
     * The parameters of v5 module {@code holder} that the family's converters make, in the order the converters
     * are listed (which is the order the v5 module defines them: gate_up_proj, then down_proj).
     */
    public List<String> stackedParams(Path file, String holder) throws FuseboxException {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < rules.converters().size(); i++) {
            String text = rules.converters().get(i).targets().getFirst().text();
            String candidate = holder + "." + text.substring(text.lastIndexOf('.') + 1);
            Optional<DirectedRules.ConverterMatch> m = toLegacy.converterFor(file, candidate);
            if (m.isPresent() && m.get().converter() == i) {
                out.add(candidate);
            }
        }
        return out;
    }

    /** The legacy name of a module that is no expert (the router's module, an attention projection). */
    public String legacyModule(String v5Module) {
        String w = toLegacy.rename(v5Module + ".weight");
        return w.substring(0, w.length() - ".weight".length());
    }

    /** A legacy name (a {@code modules_to_save} entry, a module) with the family's renamings applied. */
    public String renamedToV5(String name) {
        return strip(toV5.rename("." + name + "."));
    }

    /** A v5 name with the family's renamings undone. */
    public String renamedToLegacy(String name) {
        return strip(toLegacy.rename("." + name + "."));
    }

    /** Whether {@code key} (a model tensor) is one a converter takes, in either direction. */
    public boolean converted(Path file, String key) throws FuseboxException {
        return toV5.converterFor(file, key).isPresent() || toLegacy.converterFor(file, key).isPresent();
    }

    /** The key a model tensor that no converter takes gets in the other layout. */
    public String renamed(String key, boolean towardV5) {
        return towardV5 ? toV5.rename(key) : toLegacy.rename(key);
    }

    /** The legacy leaf names of converter {@code converter}'s branches: {@code w1}, {@code w3}. */
    public List<String> branchNames(int converter) {
        List<String> out = new ArrayList<>();
        for (KeyPattern p : rules.converters().get(converter).sources()) {
            String t = p.text().endsWith(".weight") ? p.text().substring(0, p.text().length() - ".weight".length())
                    : p.text();
            out.add(t.substring(t.lastIndexOf('.') + 1));
        }
        return out;
    }

    static String leaf(String module) {
        return module.substring(module.lastIndexOf('.') + 1);
    }

    private static String strip(String dotted) {
        String s = dotted.startsWith(".") ? dotted.substring(1) : dotted;
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    private void requireLoraCapable(Path file, String name, Converter c) throws FuseboxException {
        List<Operation> ops = c.operations();
        boolean stack = !ops.isEmpty() && ops.getFirst() instanceof Operation.Stack s && s.dim() == 0;
        boolean ok = c.sources().size() == 1 ? stack && ops.size() == 1
                : stack && ops.size() == 2 && ops.get(1) instanceof Operation.Concat cc && cc.dim() == 1;
        if (!ok || c.targets().size() != 1) {
            throw new FuseboxException(Problem.UNSUPPORTED, file, name, "the " + rules.family() + " rule " + c
                    + " " + c.describeOperations() + " is not one whose LoRA factors Fusebox can carry (it carries "
                    + "stack(dim=0), and stack(dim=0) then concat(dim=1))");
        }
    }
}
