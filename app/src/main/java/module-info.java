/** The desktop app and the process entry point for both the GUI and the command line. */
module dev.fusebox.app {
    requires dev.fusebox.viewmodel;
    requires dev.fusebox.converter;
    requires javafx.controls;
    requires org.controlsfx.controls;
    requires org.kordamp.ikonli.javafx;
    requires org.kordamp.ikonli.materialdesign2;

    exports dev.fusebox.app to javafx.graphics;
}
