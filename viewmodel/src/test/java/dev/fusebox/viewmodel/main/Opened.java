package dev.fusebox.viewmodel.main;

import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.testsupport.Fixtures;
import dev.fusebox.viewmodel.task.SynchronousTaskRunner;

import java.nio.file.Path;
import java.util.List;

/** A main view model that runs its work synchronously, for tests of the screens' view models. */
public final class Opened {

    private Opened() {
    }

    /** A view model with nothing open, its recent files in {@code temp}. */
    public static MainViewModel empty(Path temp, FakeDialogs dialogs) {
        return new MainViewModel(new SynchronousTaskRunner(), dialogs, RecentFiles.load(temp.resolve("recent.json")),
                () -> List.of(Fixtures.tiny("legacy-base"), Fixtures.tiny("legacy-lora-attn_experts")),
                RuleBook::bundled);
    }

    /** A view model with {@code paths} open. */
    public static MainViewModel with(Path temp, FakeDialogs dialogs, Path... paths) {
        MainViewModel vm = empty(temp, dialogs);
        vm.open(List.of(paths));
        if (vm.getWorkspace() == null) {
            throw new AssertionError("could not open " + List.of(paths) + ": " + vm.noticeProperty().get());
        }
        return vm;
    }
}
