package dev.fusebox.converter.forward;

/** The reference kernel: a plain loop, summing in index order. */
public final class ScalarKernel implements Kernel {

    public static final ScalarKernel INSTANCE = new ScalarKernel();

    private ScalarKernel() {
    }

    @Override
    public float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    @Override
    public void decodeRow(WeightMatrix w, int row, float[] dst) {
        w.decodeRow(row, dst);
    }

    @Override
    public String name() {
        return "scalar";
    }
}
