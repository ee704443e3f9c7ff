package dev.fusebox.converter.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.lora.AdapterPlan;
import dev.fusebox.converter.lora.PeftVerdict;
import dev.fusebox.converter.lora.TargetLora;
import dev.fusebox.converter.plan.ComputedRecipe;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.CopyRecipe;
import dev.fusebox.converter.plan.Placement;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.converter.text.Sizes;

import java.io.PrintWriter;
import java.util.Optional;

import static dev.fusebox.converter.TerminalText.escape;

/** How plan prints an adapter conversion: the engine's plan, plus ranks and alphas, the PEFT check and the config. */
final class AdapterPlanOutput {

    private AdapterPlanOutput() {
    }

    static ObjectNode json(AdapterPlan ap) {
        ObjectNode r = PlanCommand.json(ap.plan());
        r.put("kind", "adapter");
        PeftVerdict v = ap.peftCheck();
        ObjectNode check = r.putObject("peft_check");
        check.put("verdict", v.outcome().jsonName());
        check.put("summary", v.summary());
        ArrayNode reasons = check.putArray("reasons");
        v.reasons().forEach(reasons::add);
        r.set("config", ap.config());
        for (var node : (ArrayNode) r.get("targets")) {
            ObjectNode t = (ObjectNode) node;
            Optional<TargetLora> lora = ap.lora(t.get("key").asText());
            lora.ifPresent(l -> {
                ObjectNode o = t.putObject("lora");
                ArrayNode modules = o.putArray("modules");
                l.modules().forEach(modules::add);
                ArrayNode rb = o.putArray("rank_before");
                l.rankBefore().forEach(rb::add);
                o.put("rank_after", l.rankAfter());
                ArrayNode ab = o.putArray("alpha_before");
                l.alphaBefore().forEach(ab::add);
                o.put("alpha_after", l.alphaAfter());
                o.put("scale", l.scale());
            });
        }
        return r;
    }

    static void text(PrintWriter out, String name, AdapterPlan ap) {
        ConversionPlan plan = ap.plan();
        out.println(name + ": LoRA adapter for " + plan.modelType() + ", " + plan.from().jsonName() + " → "
                + plan.to().jsonName() + " with the " + plan.rules());
        out.println("  " + Sizes.count(plan.sourceTensors().size()) + " tensors in, " + Sizes.count(plan.targets().size())
                + " out · " + Sizes.bytes(plan.targetBytes()));
        PeftVerdict v = ap.peftCheck();
        out.println("  PEFT check (" + v.outcome().jsonName() + "): " + v.summary());
        for (String reason : v.reasons()) {
            out.println("    - " + reason);
        }
        if (!plan.warnings().isEmpty()) {
            out.println("  Warnings:");
            for (String w : plan.warnings()) {
                out.println("    - " + w);
            }
        }
        ObjectNode written = ap.config();
        StringBuilder config = new StringBuilder();
        for (String f : new String[] {"target_modules", "target_parameters", "rank_pattern", "alpha_pattern",
                "lora_dropout", "layers_to_transform", "modules_to_save"}) {
            if (written.has(f) && !written.get(f).isNull()) {
                config.append(config.isEmpty() ? "" : ", ").append(f).append(' ')
                        .append(JsonOutput.text(written.get(f)).replaceAll("\\s+", " "));
            }
        }
        out.println("  adapter_config.json written with " + config);
        out.println();
        int width = plan.targets().stream().mapToInt(t -> escape(t.key()).length()).max().orElse(0);
        for (PlannedTarget t : plan.targets()) {
            String head = String.format("%-" + width + "s  %-4s %-12s ", escape(t.key()), t.dtype().name(), t.shape());
            String how = t.recipe() instanceof ComputedRecipe c ? c.description()
                    : t.renamed() ? "← " + escape(t.sources().getFirst().key()) : t.copiedWhole() ? "copy"
                    : String.join(" · ", t.operations());
            out.println(head + how);
            ap.lora(t.key()).ifPresent(l -> out.println("    " + l.summary()));
            if (t.recipe() instanceof ComputedRecipe c) {
                for (TensorSpec s : c.sources()) {
                    out.println("    ← " + escape(s.key()) + " " + s.shape());
                }
            } else if (t.recipe() instanceof CopyRecipe c && !t.copiedWhole()) {
                for (Placement p : c.placements()) {
                    out.println("    ← " + escape(p.source().key()) + p.sourceSlice() + " " + p.source().shape());
                }
            }
        }
        out.flush();
    }
}
