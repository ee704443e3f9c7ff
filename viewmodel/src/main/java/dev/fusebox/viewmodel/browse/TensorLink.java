package dev.fusebox.viewmodel.browse;

/**
 * A tensor on the other side of a conversion and the part of it that a tensor corresponds to.
 *
 * @param key    the other tensor's key
 * @param region where in the other tensor, as an index expression ({@code [1, 0:96]}), or "" for all of it;
 *               seen from the fused side it says where the fused tensor's part comes from
 */
public record TensorLink(String key, String region) {
}
