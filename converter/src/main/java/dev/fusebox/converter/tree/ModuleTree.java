package dev.fusebox.converter.tree;

/**
 * A model's module tree and where its text comes from.
 *
 * @param root        the root module
 * @param exact       whether every module is as transformers builds it, so that {@link TorchRepr#print} is what
 *                    {@code print(model)} prints
 * @param description where the tree comes from, in words ("as transformers 5.18.0 prints it", "from the keys...")
 */
public record ModuleTree(ModuleNode root, boolean exact, String description) {
}
