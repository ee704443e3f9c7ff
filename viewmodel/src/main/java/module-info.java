/**
 * What the screens show and what they can do, as javafx.base properties and javafx.concurrent tasks. No scene
 * graph, no controls: everything here runs and is tested without a screen.
 */
module dev.fusebox.viewmodel {
    requires transitive dev.fusebox.converter;
    requires transitive javafx.base;
    requires transitive javafx.graphics;
    requires com.fasterxml.jackson.databind;

    exports dev.fusebox.viewmodel.task;
    exports dev.fusebox.viewmodel.host;
    exports dev.fusebox.viewmodel.main;
    exports dev.fusebox.viewmodel.workspace;
    exports dev.fusebox.viewmodel.browse;
    exports dev.fusebox.viewmodel.detail;
    exports dev.fusebox.viewmodel.mapping;
    exports dev.fusebox.viewmodel.convert;
    exports dev.fusebox.viewmodel.diff;
    exports dev.fusebox.viewmodel.verify;
    exports dev.fusebox.viewmodel.cache;
}
