package dev.fusebox.viewmodel.cache;

import dev.fusebox.testsupport.Fixtures;
import dev.fusebox.viewmodel.main.CacheSnapshot;
import dev.fusebox.viewmodel.main.FakeDialogs;
import dev.fusebox.viewmodel.main.MainViewModel;
import dev.fusebox.viewmodel.main.Opened;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class CacheViewModelTest {

    private static final String REVISION = "1111111111111111111111111111111111111111";

    @TempDir
    Path temp;

    private MainViewModel main;

    @AfterEach
    void close() {
        main.close();
    }

    @Test
    void theCachedModelsAreListedWithWhatTheyHoldAndOpenWithAClick() throws Exception {
        Path hub = temp.resolve("hub");
        CacheSnapshot.of(hub, "fusebox-test/mixtral-tiny", REVISION, Fixtures.tiny("legacy-base"));
        Path broken = Files.createDirectories(hub.resolve("models--fusebox-test--empty/snapshots/" + REVISION));
        main = Opened.empty(temp, new FakeDialogs());
        CacheViewModel vm = main.cache();
        vm.rootProperty().set(hub);
        vm.refresh();
        assertThat(vm.models()).extracting(CacheViewModel.Entry::line).containsExactly(
                "fusebox-test/empty@1111111 · does not open: " + broken + ": holds no .safetensors file and no "
                        + "adapter_config.json",
                "fusebox-test/mixtral-tiny@1111111 · 808 KiB · legacy · mixtral");
        assertThat(vm.models()).extracting(CacheViewModel.Entry::opens).containsExactly(false, true);
        vm.open(vm.models().getLast());
        assertThat(main.titleProperty().get()).isEqualTo("Fusebox — mixtral · fusebox-test/mixtral-tiny@1111111");
    }

    @Test
    void aMissingCacheListsNothing() {
        main = Opened.empty(temp, new FakeDialogs());
        main.cache().rootProperty().set(temp.resolve("no-cache"));
        main.cache().refresh();
        assertThat(main.cache().models()).isEmpty();
    }
}
