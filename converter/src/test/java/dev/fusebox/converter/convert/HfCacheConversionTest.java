package dev.fusebox.converter.convert;

import dev.fusebox.converter.FakeHfCache;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.HfCache;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.plan.Planner;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A model as huggingface_hub caches it converts to a complete folder of real files: the weights transformers 5.17
 * builds from the legacy fixture, and config.json, generation_config.json, the tokenizer and chat template, README,
 * each with its blob's bytes — never a link into the cache.
 */
class HfCacheConversionTest {

    @TempDir
    Path tmp;

    FakeHfCache fake;

    @BeforeEach
    void cache() throws Exception {
        fake = new FakeHfCache(Files.createDirectory(tmp.resolve("hub")));
    }

    @Test
    void aShardedSnapshotConvertsToACompleteFolderOfRegularFiles() throws Exception {
        Path snapshot = fake.addSharded(FakeHfCache.REPO_ID, true, tmp);
        assertConvertsCompletely(snapshot, tmp.resolve("sharded-v5"));
    }

    @Test
    void aSingleFileSnapshotConvertsToACompleteFolderOfRegularFiles() throws Exception {
        Path snapshot = fake.addSingleFile(FakeHfCache.REPO_ID, true);
        assertConvertsCompletely(snapshot, tmp.resolve("single-v5"));
    }

    @Test
    void theRepoFolderAndTheModelIdConvertLikeTheSnapshot() throws Exception {
        fake.addSharded(FakeHfCache.REPO_ID, true, tmp);
        assertConvertsCompletely(fake.repoFolder(FakeHfCache.REPO_ID), tmp.resolve("repo-v5"));
        assertConvertsCompletely(Path.of(FakeHfCache.REPO_ID), tmp.resolve("id-v5"));
    }

    private void assertConvertsCompletely(Path input, Path out) throws Exception {
        try (Checkpoint c = Checkpoint.open(input, RuleBook.bundled(), new HfCache(fake.root()))) {
            PlanExecutor.execute(c, Planner.plan(c, RuleBook.bundled(), Optional.of(Layout.V5)), out,
                    ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER);
        }
        List<String> names = new ArrayList<>();
        try (Stream<Path> files = Files.list(out)) {
            for (Path f : files.toList()) {
                assertThat(Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)).as(f + " is a regular file").isTrue();
                names.add(f.getFileName().toString());
            }
        }
        assertThat(names).contains("config.json", "model.safetensors").containsAll(FakeHfCache.COMPANIONS);
        for (Map.Entry<String, byte[]> companion : FakeHfCache.companions().entrySet()) {
            assertThat(out.resolve(companion.getKey())).as(companion.getKey()).hasBinaryContent(companion.getValue());
        }
        try (Checkpoint converted = Checkpoint.open(out);
             Checkpoint reference = Checkpoint.open(Fixtures.tiny("v5-base.float32.safetensors"))) {
            assertThat(converted.layout()).isEqualTo(Layout.V5);
            FixtureConversionTest.assertSameTensors(converted, reference);
        }
    }
}
