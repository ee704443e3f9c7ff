package dev.fusebox.app.main;

import java.util.function.Supplier;

/**
 * A value made the first time it is asked for, then kept: a screen's view, built when its tab first shows rather
 * than while the window opens (a cold launch shows the model screen only).
 */
final class Once<T> implements Supplier<T> {

    private final Supplier<T> make;
    private T value;

    Once(Supplier<T> make) {
        this.make = make;
    }

    @Override
    public T get() {
        if (value == null) {
            value = make.get();
        }
        return value;
    }
}
