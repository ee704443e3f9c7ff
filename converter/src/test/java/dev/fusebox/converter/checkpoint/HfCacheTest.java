package dev.fusebox.converter.checkpoint;

import dev.fusebox.converter.FakeHfCache;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Opening models where huggingface_hub keeps them: a snapshot, its repo folder, or its id. */
class HfCacheTest {

    private static final String ID = FakeHfCache.REPO_ID;

    @TempDir
    Path tmp;

    FakeHfCache fake;
    HfCache cache;

    @BeforeEach
    void cache() throws Exception {
        fake = new FakeHfCache(Files.createDirectory(tmp.resolve("hub")));
        cache = new HfCache(fake.root());
    }

    private Checkpoint open(Path path) throws FuseboxException {
        return Checkpoint.open(path, RuleBook.bundled(), cache);
    }

    @Test
    void aShardedSnapshotOpensThroughItsLinksIntoTheRepoBlobs() throws Exception {
        Path snapshot = fake.addSharded(ID, true, tmp);
        assertThat(Files.isSymbolicLink(snapshot.resolve("model-00001-of-00002.safetensors"))).isTrue();
        try (Checkpoint c = open(snapshot); Checkpoint plain = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            assertThat(c.files()).hasSize(2);
            assertThat(c.specs()).containsExactlyInAnyOrderElementsOf(plain.specs());
            assertThat(c.layout()).isEqualTo(Layout.LEGACY);
            assertThat(c.modelType()).isEqualTo("mixtral");
            assertThat(c.cachedModel()).contains(new CachedModel(ID, FakeHfCache.SHARDED_REVISION,
                    fake.repoFolder(ID).toRealPath()));
            assertThat(c.displayName()).isEqualTo(ID + "@2222222");
            assertThat(c.companionFiles()).extracting(p -> p.getFileName().toString())
                    .containsExactlyInAnyOrder("README.md", "chat_template.jinja", "config.json",
                            "generation_config.json", "tokenizer.json", "tokenizer_config.json");
        }
    }

    @Test
    void aSingleFileSnapshotOpensWithItsConfig() throws Exception {
        Path snapshot = fake.addSingleFile(ID, true);
        try (Checkpoint c = open(snapshot)) {
            assertThat(c.files()).hasSize(1);
            assertThat(c.config()).isPresent();
            assertThat(c.displayName()).isEqualTo(ID + "@1111111");
        }
    }

    @Test
    void aLoneWeightFileOfASnapshotIsNamedByItsModel() throws Exception {
        Path snapshot = fake.addSingleFile(ID, true);
        try (Checkpoint c = open(snapshot.resolve("model.safetensors"))) {
            assertThat(c.displayName()).isEqualTo(ID + "@1111111/model.safetensors");
            assertThat(c.config()).isPresent();
        }
    }

    @Test
    void theRepoFolderOpensTheSnapshotRefsMainNames() throws Exception {
        fake.addSingleFile(ID, false);
        fake.addSharded(ID, true, tmp);
        try (Checkpoint c = open(fake.repoFolder(ID))) {
            assertThat(c.cachedModel().orElseThrow().revision()).isEqualTo(FakeHfCache.SHARDED_REVISION);
            assertThat(c.location()).isEqualTo(fake.repoFolder(ID).resolve("snapshots")
                    .resolve(FakeHfCache.SHARDED_REVISION));
        }
    }

    @Test
    void withoutRefsTheRepoFolderOpensItsOnlySnapshot() throws Exception {
        fake.addSharded(ID, false, tmp);
        try (Checkpoint c = open(fake.repoFolder(ID))) {
            assertThat(c.cachedModel().orElseThrow().revision()).isEqualTo(FakeHfCache.SHARDED_REVISION);
        }
    }

    @Test
    void withoutRefsAndWithTwoSnapshotsTheNewestIsOpened() throws Exception {
        Path single = fake.addSingleFile(ID, false);
        Path sharded = fake.addSharded(ID, false, tmp);
        Files.setLastModifiedTime(sharded, FileTime.fromMillis(1_000_000_000_000L));
        Files.setLastModifiedTime(single, FileTime.fromMillis(1_700_000_000_000L));
        try (Checkpoint c = open(fake.repoFolder(ID))) {
            assertThat(c.cachedModel().orElseThrow().revision()).isEqualTo(FakeHfCache.SINGLE_REVISION);
        }
    }

    @Test
    void aModelIdOpensItsMainSnapshotFromTheCache() throws Exception {
        fake.addSingleFile(ID, false);
        fake.addSharded(ID, true, tmp);
        try (Checkpoint c = open(Path.of(ID))) {
            assertThat(c.cachedModel().orElseThrow().revision()).isEqualTo(FakeHfCache.SHARDED_REVISION);
            assertThat(c.files()).hasSize(2);
        }
    }

    @Test
    void aRevisionAfterTheIdChoosesTheSnapshot() throws Exception {
        fake.addSingleFile(ID, false);
        fake.addSharded(ID, true, tmp);
        for (String rev : new String[] {FakeHfCache.SINGLE_REVISION, "1111111", "main"}) {
            try (Checkpoint c = open(Path.of(ID + "@" + rev))) {
                assertThat(c.cachedModel().orElseThrow().revision()).as(rev)
                        .isEqualTo(rev.equals("main") ? FakeHfCache.SHARDED_REVISION : FakeHfCache.SINGLE_REVISION);
            }
        }
        assertThatThrownBy(() -> open(Path.of(ID + "@3333333")))
                .isInstanceOf(FuseboxException.class)
                .hasMessageContaining("names the revision '3333333', which is not in")
                .hasMessageContaining(FakeHfCache.SINGLE_REVISION);
    }

    @Test
    void anIdTheCacheDoesNotHoldIsRefusedNamingTheCache() {
        assertThatThrownBy(() -> open(Path.of("nobody/nothing")))
                .isInstanceOfSatisfying(FuseboxException.class,
                        e -> assertThat(e.problem()).isEqualTo(Problem.NOT_A_CHECKPOINT))
                .hasMessageContaining("no model 'nobody/nothing' is in the Hugging Face cache at " + fake.root());
    }

    @Test
    void everySnapshotIsListedByIdThenRevision() throws Exception {
        fake.addSharded(ID, true, tmp);
        fake.addSingleFile(ID, false);
        fake.addSingleFile("aaa/first", true);
        Files.createDirectories(fake.root().resolve("datasets--x--y/snapshots/" + FakeHfCache.SINGLE_REVISION));
        assertThat(cache.snapshots()).extracting(CachedModel::shortName)
                .containsExactly("aaa/first@1111111", ID + "@1111111", ID + "@2222222");
        assertThat(cache.snapshots().getLast().snapshot()).isEqualTo(fake.repoFolder(ID).resolve("snapshots")
                .resolve(FakeHfCache.SHARDED_REVISION));
        assertThat(new HfCache(tmp.resolve("none")).snapshots()).isEmpty();
    }

    @Test
    void theCacheRootIsFoundAsHuggingfaceHubFindsIt() {
        Path home = Path.of("/home/u");
        assertThat(HfCache.from(Map.of(), home).root()).isEqualTo(Path.of("/home/u/.cache/huggingface/hub"));
        assertThat(HfCache.from(Map.of("XDG_CACHE_HOME", "/x"), home).root()).isEqualTo(Path.of("/x/huggingface/hub"));
        assertThat(HfCache.from(Map.of("HF_HOME", "~/hf", "XDG_CACHE_HOME", "/x"), home).root())
                .isEqualTo(Path.of("/home/u/hf/hub"));
        assertThat(HfCache.from(Map.of("HUGGINGFACE_HUB_CACHE", "/old", "HF_HOME", "/hf"), home).root())
                .isEqualTo(Path.of("/old"));
        assertThat(HfCache.from(Map.of("HF_HUB_CACHE", "/new", "HUGGINGFACE_HUB_CACHE", "/old"), home).root())
                .isEqualTo(Path.of("/new"));
    }

    @Test
    void aLinkIntoAnotherRepositorysBlobsIsRefused() throws Exception {
        Path other = fake.addSingleFile("someone/else", true);
        Path snapshot = fake.addSingleFile(ID, true);
        Files.delete(snapshot.resolve("config.json"));
        Path foreign = other.resolve("config.json").toRealPath();
        Files.createSymbolicLink(snapshot.resolve("config.json"),
                Path.of("..", "..", "..", "models--someone--else", "blobs", foreign.getFileName().toString()));
        assertThatThrownBy(() -> open(snapshot))
                .isInstanceOfSatisfying(FuseboxException.class,
                        e -> assertThat(e.problem()).isEqualTo(Problem.LINK_OUTSIDE_CHECKPOINT))
                .hasMessage(snapshot.resolve("config.json") + ": is a link to " + foreign + ", outside the checkpoint "
                        + "folder and its cache repo's blobs/; Fusebox follows links only within it (copy the file "
                        + "into the folder to use it)");
    }

    @Test
    void aSnapshotWhoseBlobsFolderIsALinkFollowsNoLinkOut() throws Exception {
        Path snapshot = fake.addSingleFile(ID, true);
        Path repo = fake.repoFolder(ID);
        Path moved = Files.move(repo.resolve("blobs"), tmp.resolve("elsewhere"));
        Files.createSymbolicLink(repo.resolve("blobs"), moved);
        assertThatThrownBy(() -> open(snapshot))
                .isInstanceOfSatisfying(FuseboxException.class,
                        e -> assertThat(e.problem()).isEqualTo(Problem.LINK_OUTSIDE_CHECKPOINT))
                .hasMessageContaining("is a link to " + moved.toRealPath());
    }

    @Test
    void anAdaptersBaseIsFoundInTheCacheByItsId() throws Exception {
        Path snapshot = fake.addSingleFile(ID, true);
        Path adapter = copyAdapter("base", ID);
        try (Checkpoint c = open(adapter)) {
            assertThat(c.baseModelDirectory()).contains(snapshot);
            assertThat(c.modelType()).isEqualTo("mixtral");
        }
    }

    @Test
    void anAdaptersBaseIsNeverLookedUpAgainstTheWorkingDirectory() throws Exception {
        // The tests run in converter/, where this path names the fixture; beside the adapter it names nothing.
        String fromWorkingDirectory = "../fixtures/mixtral-tiny/legacy-base";
        assertThat(Path.of(fromWorkingDirectory).resolve("config.json")).isRegularFile();
        try (Checkpoint c = open(copyAdapter("cwd", fromWorkingDirectory))) {
            assertThat(c.baseModelDirectory()).isEmpty();
        }
    }

    @Test
    void anAdaptersBaseBesideItIsFound() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("beside"));
        Path base = dir.resolve("my-base");
        Files.createDirectory(base);
        Files.copy(Fixtures.tiny("legacy-base/config.json"), base.resolve("config.json"));
        Files.copy(Fixtures.tiny("legacy-base/model.safetensors"), base.resolve("model.safetensors"));
        Path adapter = dir.resolve("adapter");
        Files.move(copyAdapter("x", "my-base"), adapter);
        try (Checkpoint c = open(adapter)) {
            assertThat(c.baseModelDirectory()).contains(base.toAbsolutePath());
        }
    }

    private Path copyAdapter(String name, String base) throws Exception {
        Path adapter = Files.createDirectory(tmp.resolve("adapter-" + name));
        Path source = Fixtures.tiny("legacy-lora-experts_gate");
        Files.copy(source.resolve("adapter_model.safetensors"), adapter.resolve("adapter_model.safetensors"));
        String config = Files.readString(source.resolve("adapter_config.json")).replace(
                "\"base_model_name_or_path\": \"legacy-base\"", "\"base_model_name_or_path\": \"" + base + "\"");
        assertThat(config).contains(base);
        Files.writeString(adapter.resolve("adapter_config.json"), config);
        return adapter;
    }
}
