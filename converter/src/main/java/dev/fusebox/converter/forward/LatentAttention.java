package dev.fusebox.converter.forward;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;

import java.util.Optional;

/**
 * DeepSeek's multi-head latent attention in float32, as transformers 5.18's DeepseekV3Attention computes it
 * without a cache ({@link LatentAttentionDims}): queries from q_proj, or q_b_proj of the RMS-normed q_a_proj; the
 * compressed keys and values from kv_a_proj_with_mqa, whose first kvLoraRank values are RMS-normed and expanded by
 * kv_b_proj into each head's position-free key and its value, and whose last qkRopeHeadDim values are one RoPE key
 * shared by every head; RoPE on the queries' and that key's last qkRopeHeadDim dimensions (pairwise when
 * interleaved, written back de-interleaved as transformers does); a causal softmax at the config's scale; o_proj.
 * GLM-MoE-DSA's indexer changes nothing while the tokens are at most its index_topk, and more are refused.
 */
final class LatentAttention {

    private final LatentAttentionDims dims;
    private final ModelWeights weights;
    private final Kernel kernel;

    LatentAttention(LatentAttentionDims dims, ModelWeights weights, Kernel kernel) {
        this.dims = dims;
        this.weights = weights;
        this.kernel = kernel;
    }

    /** cos and sin for {@code tokens} positions, the table {@link #apply} takes. */
    float[] ropeTable(int tokens) {
        return dims.rope().table(tokens);
    }

    /** The attention output [tokens, hidden] of layer {@code layer} on its normed input {@code x}. */
    float[] apply(int layer, float[] x, int tokens, float[] rope, MatMul mm) throws FuseboxException {
        if (dims.indexTopK() > 0 && tokens > dims.indexTopK()) {
            throw new FuseboxException(Problem.UNSUPPORTED, weights.location(), "keeps the " + dims.indexTopK()
                    + " keys its indexer ranks best per query (index_topk), and the forward pass implements the "
                    + "indexer only where that is every key; give at most " + dims.indexTopK() + " tokens");
        }
        int heads = dims.heads();
        int qk = dims.qkHeadDim();
        int nope = dims.qkNopeHeadDim();
        int ropeDim = dims.qkRopeHeadDim();
        int vDim = dims.vHeadDim();
        float[] q;
        if (dims.qLoraRank() > 0) {
            float[] a = projection(layer, "q_a_proj", x, tokens, mm);
            q = mm.apply(weights.attention(layer, "q_b_proj"),
                    rmsNorm(a, weights.headNorm(layer, "q_a_layernorm"), tokens, dims.qLoraRank(), mm), tokens);
        } else {
            q = mm.apply(weights.attention(layer, "q_proj"), x, tokens);
        }
        float[] compressed = projection(layer, "kv_a_proj_with_mqa", x, tokens, mm);
        int cw = dims.compressedWidth();
        int latent = dims.kvLoraRank();
        float[] kvLatent = new float[tokens * latent];
        float[] keyRope = new float[tokens * ropeDim];
        for (int t = 0; t < tokens; t++) {
            System.arraycopy(compressed, t * cw, kvLatent, t * latent, latent);
            System.arraycopy(compressed, t * cw + latent, keyRope, t * ropeDim, ropeDim);
        }
        float[] kv = mm.apply(weights.attention(layer, "kv_b_proj"),
                rmsNorm(kvLatent, weights.headNorm(layer, "kv_a_layernorm"), tokens, latent, mm), tokens);
        for (int t = 0; t < tokens; t++) {
            for (int h = 0; h < heads; h++) {
                rotate(q, (t * heads + h) * qk + nope, t, rope);
            }
            rotate(keyRope, t * ropeDim, t, rope);
        }
        int kvHead = nope + vDim;
        int qWidth = dims.qWidth();
        int kvWidth = dims.kvWidth();
        int outWidth = dims.outWidth();
        float scale = (float) dims.scale();
        float[] out = new float[tokens * outWidth];
        float[] scores = new float[tokens];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < tokens; i++) {
                int qo = i * qWidth + h * qk;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    float s = kernel.dot(q, qo, kv, j * kvWidth + h * kvHead, nope)
                            + kernel.dot(q, qo + nope, keyRope, j * ropeDim, ropeDim);
                    scores[j] = s * scale;
                    max = Math.max(max, scores[j]);
                }
                float sum = 0;
                for (int j = 0; j <= i; j++) {
                    scores[j] = (float) Math.exp(scores[j] - max);
                    sum += scores[j];
                }
                int o = i * outWidth + h * vDim;
                for (int j = 0; j <= i; j++) {
                    float p = scores[j] / sum;
                    int vo = j * kvWidth + h * kvHead + nope;
                    for (int c = 0; c < vDim; c++) {
                        out[o + c] += p * kv[vo + c];
                    }
                }
            }
        }
        return projection(layer, "o_proj", out, tokens, mm);
    }

    /** RoPE on the qkRopeHeadDim values of {@code x} from {@code offset}, at position {@code position}. */
    private void rotate(float[] x, int offset, int position, float[] rope) {
        int half = dims.qkRopeHeadDim() / 2;
        float[] rotated = new float[2 * half];
        for (int i = 0; i < half; i++) {
            float cos = rope[(position * half + i) * 2];
            float sin = rope[(position * half + i) * 2 + 1];
            float x1 = dims.interleave() ? x[offset + 2 * i] : x[offset + i];
            float x2 = dims.interleave() ? x[offset + 2 * i + 1] : x[offset + half + i];
            rotated[i] = x1 * cos - x2 * sin;
            rotated[half + i] = x2 * cos + x1 * sin;
        }
        System.arraycopy(rotated, 0, x, offset, rotated.length);
    }

    /** A projection, with its bias when the config gives it one. */
    private float[] projection(int layer, String name, float[] x, int tokens, MatMul mm) throws FuseboxException {
        float[] y = mm.apply(weights.attention(layer, name), x, tokens);
        Optional<WeightMatrix> bias = weights.attentionBias(layer, name);
        if (bias.isPresent()) {
            float[] b = bias.get().decodeAll();
            mm.countRead(bias.get().byteSize());
            for (int i = 0; i < y.length; i++) {
                y[i] += b[i % b.length];
            }
        }
        return y;
    }

    /** The latent norms: {@code x · rsqrt(mean(x²) + eps) · w} over rows of {@code width}, the mean in double. */
    private static float[] rmsNorm(float[] x, WeightMatrix weight, int rows, int width, MatMul mm) {
        float[] w = weight.decodeAll();
        mm.countRead(weight.byteSize());
        float[] out = new float[x.length];
        for (int r = 0; r < rows; r++) {
            double sum = 0;
            for (int i = 0; i < width; i++) {
                float v = x[r * width + i];
                sum += v * v;
            }
            float inv = (float) (1.0 / Math.sqrt(sum / width + LatentAttentionDims.LATENT_NORM_EPS));
            for (int i = 0; i < width; i++) {
                out[r * width + i] = w[i] * (x[r * width + i] * inv);
            }
        }
        return out;
    }
}
