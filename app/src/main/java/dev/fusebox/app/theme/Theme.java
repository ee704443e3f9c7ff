package dev.fusebox.app.theme;

import javafx.scene.Scene;

import java.net.URL;
import java.util.Objects;

/**
 * The light and dark themes: each a stylesheet of colour variables under {@code resources/themes/}, applied after
 * {@code fusebox.css}, which styles everything from those variables.
 */
public enum Theme {
    LIGHT("light.css"),
    DARK("dark.css");

    private static final String DIR = "/dev/fusebox/app/assets/themes/";

    private final String sheet;

    Theme(String sheet) {
        this.sheet = sheet;
    }

    public static Theme of(boolean dark) {
        return dark ? DARK : LIGHT;
    }

    /** Gives {@code scene} this theme's stylesheets, replacing whatever theme it had. */
    public void applyTo(Scene scene) {
        scene.getStylesheets().setAll(url("fusebox.css"), url(sheet));
    }

    private static String url(String name) {
        URL u = Objects.requireNonNull(Theme.class.getResource(DIR + name), () -> "stylesheet " + name + " is missing");
        return u.toExternalForm();
    }
}
