package dev.fusebox.app.main;

import dev.fusebox.viewmodel.task.Job;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.ProgressBar;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import org.kordamp.ikonli.javafx.FontIcon;
import org.kordamp.ikonli.materialdesign2.MaterialDesignC;

/**
 * A screen's progress row for its job: the bar, the percentage, the rate, the time left and Cancel, shown while
 * the job runs (the bar and percentage stay at 100 % after it succeeds). Node ids start with {@code prefix}.
 */
public final class JobBar extends HBox {

    public JobBar(Job job, String prefix) {
        super(10);
        getStyleClass().add("job-bar");
        ProgressBar bar = new ProgressBar(0);
        bar.setId(prefix + "-progress");
        bar.setPrefWidth(260);
        bar.progressProperty().bind(job.progressProperty());
        Label percent = label(prefix + "-percent");
        percent.textProperty().bind(job.percentTextProperty());
        Label rate = label(prefix + "-rate");
        rate.textProperty().bind(job.rateTextProperty());
        Label left = label(prefix + "-time-left");
        left.textProperty().bind(job.timeLeftTextProperty());
        Label current = label(prefix + "-current");
        current.getStyleClass().add("muted");
        current.textProperty().bind(job.currentProperty());
        current.setMaxWidth(Double.MAX_VALUE);
        HBox.setHgrow(current, Priority.ALWAYS);
        Button cancel = new Button("Cancel", new FontIcon(MaterialDesignC.CANCEL));
        cancel.setId(prefix + "-cancel");
        cancel.visibleProperty().bind(job.busyProperty());
        cancel.setOnAction(e -> job.cancel());
        getChildren().addAll(bar, percent, rate, left, current, cancel);
        visibleProperty().bind(job.stateProperty().isNotEqualTo(Job.State.IDLE));
        managedProperty().bind(visibleProperty());
    }

    private static Label label(String id) {
        Label l = new Label();
        l.setId(id);
        l.setMinWidth(Label.USE_PREF_SIZE);
        return l;
    }
}
