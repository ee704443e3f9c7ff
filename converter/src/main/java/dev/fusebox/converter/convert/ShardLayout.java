package dev.fusebox.converter.convert;

import dev.fusebox.converter.plan.PlannedTarget;

import java.util.ArrayList;
import java.util.List;

/**
 * Which targets go into which shard file: filled in writing order until the next tensor would pass the limit, as
 * transformers' {@code save_pretrained} does; one file named {@code model.safetensors} when everything fits, else
 * {@code model-00001-of-0000N.safetensors} and so on.
 */
record ShardLayout(List<List<PlannedTarget>> shards, List<String> names) {

    static ShardLayout of(List<PlannedTarget> targets, long maxBytes, String singleName) {
        List<List<PlannedTarget>> shards = new ArrayList<>();
        List<PlannedTarget> current = new ArrayList<>();
        long size = 0;
        for (PlannedTarget t : targets) {
            if (!current.isEmpty() && size + t.byteSize() > maxBytes) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(t);
            size = Math.addExact(size, t.byteSize());
        }
        if (!current.isEmpty() || shards.isEmpty()) {
            shards.add(current);
        }
        List<String> names = new ArrayList<>();
        if (shards.size() == 1) {
            names.add(singleName);
        } else {
            String base = singleName.substring(0, singleName.length() - ".safetensors".length());
            for (int i = 1; i <= shards.size(); i++) {
                names.add(String.format("%s-%05d-of-%05d.safetensors", base, i, shards.size()));
            }
        }
        return new ShardLayout(shards, names);
    }
}
