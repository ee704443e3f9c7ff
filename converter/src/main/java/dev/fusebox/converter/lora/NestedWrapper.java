package dev.fusebox.converter.lora;

import java.util.List;
import java.util.Optional;

/**
 * Where a LoRA module of PEFT 0.21's {@code target_parameters} sits: PEFT wraps a module once per targeted
 * parameter, each ParamWrapper around the one before, the parameter the module registers first innermost
 * (tuners_utils {@code _inject_parameters}: it walks {@code named_parameters(recurse=False)}). So
 * {@code experts.base_layer} is the wrapper {@code depth} 1 inside the outermost one, {@code experts}.
 *
 * @param holder the wrapped module, without {@code .base_layer}
 * @param depth  how many wrappers lie outside this one
 */
record NestedWrapper(String holder, int depth) {

    private static final String WRAPPED = ".base_layer";

    /** The wrapper a module name of an adapter's keys names. */
    static NestedWrapper of(String module) {
        String holder = module;
        int depth = 0;
        while (holder.endsWith(WRAPPED)) {
            holder = holder.substring(0, holder.length() - WRAPPED.length());
            depth++;
        }
        return new NestedWrapper(holder, depth);
    }

    /**
     * The parameter this wrapper adapts, of {@code held} (the holder's targeted parameters in registration order),
     * or empty when it lies deeper than they are many.
     */
    Optional<String> parameter(List<String> held) {
        return depth < held.size() ? Optional.of(held.get(held.size() - 1 - depth))
                : Optional.empty();
    }

    /** The module name of the wrapper around {@code parameter} of {@code held}, as PEFT names its keys. */
    static String module(String holder, List<String> held, String parameter) {
        return holder + WRAPPED.repeat(held.size() - 1 - held.indexOf(parameter));
    }
}
