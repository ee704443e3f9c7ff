package dev.fusebox.app.actions;

import javafx.beans.binding.Bindings;
import javafx.beans.property.BooleanProperty;
import javafx.beans.value.ObservableBooleanValue;
import javafx.scene.control.Button;
import javafx.scene.control.CheckMenuItem;
import javafx.scene.control.MenuItem;
import javafx.scene.control.Tooltip;
import org.kordamp.ikonli.javafx.FontIcon;

import java.util.EnumMap;
import java.util.Map;

/**
 * Makes menu items and toolbar buttons from {@link AppAction}s: label, icon, shortcut and tooltip from the enum,
 * what they do and when they are enabled from {@link #bind}. Menu items carry the accelerators, so a shortcut
 * works wherever the menu bar is.
 */
public final class ActionFactory {

    private record Binding(Runnable handler, ObservableBooleanValue enabled) {
    }

    private final Map<AppAction, Binding> bindings = new EnumMap<>(AppAction.class);

    /** What {@code action} does, and when it can. */
    public void bind(AppAction action, Runnable handler, ObservableBooleanValue enabled) {
        bindings.put(action, new Binding(handler, enabled));
    }

    /** What {@code action} does; always enabled. */
    public void bind(AppAction action, Runnable handler) {
        bind(action, handler, Bindings.createBooleanBinding(() -> true));
    }

    private Binding binding(AppAction action) {
        Binding b = bindings.get(action);
        if (b == null) {
            throw new IllegalStateException(action + " has no handler bound");
        }
        return b;
    }

    /** Does what {@code action} does, if it can now; false when it cannot. */
    public boolean run(AppAction action) {
        Binding b = binding(action);
        if (!b.enabled().get()) {
            return false;
        }
        b.handler().run();
        return true;
    }

    public MenuItem menuItem(AppAction action) {
        Binding b = binding(action);
        MenuItem item = new MenuItem(action.label(), icon(action));
        item.setId(action.id("item"));
        action.keyCombination().ifPresent(item::setAccelerator);
        item.setOnAction(e -> b.handler().run());
        item.disableProperty().bind(Bindings.not(b.enabled()));
        return item;
    }

    /** A menu item with a check mark bound both ways to {@code selected}. */
    public CheckMenuItem checkItem(AppAction action, BooleanProperty selected) {
        CheckMenuItem item = new CheckMenuItem(action.label(), icon(action));
        action.keyCombination().ifPresent(item::setAccelerator);
        item.selectedProperty().bindBidirectional(selected);
        return item;
    }

    /** An icon-only toolbar button with the label and shortcut in its tooltip. */
    public Button button(AppAction action) {
        Binding b = binding(action);
        Button button = new Button(null, icon(action));
        button.setId(action.id("button"));
        button.getStyleClass().add("tool-button");
        button.setTooltip(new Tooltip(action.tooltip()));
        button.setAccessibleText(action.label());
        button.setOnAction(e -> b.handler().run());
        button.disableProperty().bind(Bindings.not(b.enabled()));
        return button;
    }

    /** A button with label and icon, for the screens' own command rows. */
    public Button labelledButton(AppAction action) {
        Button button = button(action);
        button.setId(action.id("action"));
        button.setText(action.label());
        button.getStyleClass().remove("tool-button");
        return button;
    }

    public static FontIcon icon(AppAction action) {
        FontIcon icon = new FontIcon(action.icon());
        icon.getStyleClass().add("action-icon");
        return icon;
    }
}
