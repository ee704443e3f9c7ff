package dev.fusebox.converter;

import dev.fusebox.converter.safetensors.SafetensorsFile;
import dev.fusebox.converter.safetensors.SafetensorsWriter;
import dev.fusebox.converter.tensor.TensorEntry;
import dev.fusebox.testsupport.Fixtures;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A Hugging Face hub cache laid out exactly as huggingface_hub writes one (its source at commit ee0a451):
 * <ul>
 *   <li>file_download.py {@code repo_folder_name}: the repo folder is {@code models--} + the id with "/" as "--";</li>
 *   <li>{@code hf_hub_download}: {@code blob_path = storage_folder/blobs/<etag>}, the etag being the file's git blob
 *       SHA-1, or for an LFS file (weights) the SHA-256 of its content ({@code X-Linked-Etag});</li>
 *   <li>{@code _get_pointer_path} + {@code _create_symlink}: {@code snapshots/<commit>/<file>} is a relative link,
 *       {@code os.path.relpath(blob, dirname(pointer))}, i.e. {@code ../../blobs/<etag>};</li>
 *   <li>{@code _cache_commit_hash_for_specific_revision}: {@code refs/main} holds the commit hash, written by
 *       {@code write_text} without a newline.</li>
 * </ul>
 * The files come from the fixtures: fixtures/mixtral-tiny/legacy-base and the companions transformers saved for it
 * (test resources hf-companions).
 */
public final class FakeHfCache {

    public static final String REPO_ID = "fusebox-test/mixtral-tiny";
    public static final String SINGLE_REVISION = "1111111111111111111111111111111111111111";
    public static final String SHARDED_REVISION = "2222222222222222222222222222222222222222";
    /** The companions every snapshot holds besides config.json and the weights. */
    public static final List<String> COMPANIONS = List.of("chat_template.jinja", "generation_config.json",
            "tokenizer.json", "tokenizer_config.json", "README.md");

    private final Path root;

    public FakeHfCache(Path root) {
        this.root = root;
    }

    public Path root() {
        return root;
    }

    public Path repoFolder(String id) {
        return root.resolve("models--" + id.replace("/", "--"));
    }

    /** The tiny legacy Mixtral in one model.safetensors, as revision {@link #SINGLE_REVISION}. */
    public Path addSingleFile(String id, boolean main) throws IOException {
        Map<String, byte[]> files = companions();
        files.put("model.safetensors", Files.readAllBytes(Fixtures.tiny("legacy-base/model.safetensors")));
        return addSnapshot(id, SINGLE_REVISION, files, main);
    }

    /** The same model in two shards and an index (its tensors split in half), as {@link #SHARDED_REVISION}. */
    public Path addSharded(String id, boolean main, Path scratch) throws IOException {
        Map<String, byte[]> files = companions();
        Map<String, String> weightMap = new TreeMap<>();
        try (SafetensorsFile source = SafetensorsFile.open(Fixtures.tiny("legacy-base/model.safetensors"))) {
            List<TensorEntry> all = source.tensors();
            int half = all.size() / 2;
            files.put("model-00001-of-00002.safetensors", shard(source, all.subList(0, half), scratch, weightMap,
                    "model-00001-of-00002.safetensors"));
            files.put("model-00002-of-00002.safetensors", shard(source, all.subList(half, all.size()), scratch,
                    weightMap, "model-00002-of-00002.safetensors"));
        } catch (FuseboxException e) {
            throw new IOException(e);
        }
        StringBuilder index = new StringBuilder("{\n  \"metadata\": {\"total_size\": 822528},\n  \"weight_map\": {");
        String sep = "\n";
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            index.append(sep).append("    \"").append(e.getKey()).append("\": \"").append(e.getValue()).append('"');
            sep = ",\n";
        }
        files.put("model.safetensors.index.json", index.append("\n  }\n}\n").toString()
                .getBytes(StandardCharsets.UTF_8));
        return addSnapshot(id, SHARDED_REVISION, files, main);
    }

    /** Writes {@code files} as snapshot {@code revision} of {@code id}: blobs by etag, relative links to them. */
    public Path addSnapshot(String id, String revision, Map<String, byte[]> files, boolean main) throws IOException {
        Path repo = repoFolder(id);
        Path blobs = Files.createDirectories(repo.resolve("blobs"));
        Path snapshot = Files.createDirectories(repo.resolve("snapshots").resolve(revision));
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            String etag = f.getKey().endsWith(".safetensors") ? sha256(f.getValue()) : gitBlobSha1(f.getValue());
            Path blob = blobs.resolve(etag);
            if (!Files.exists(blob)) {
                Files.write(blob, f.getValue());
            }
            Files.createSymbolicLink(snapshot.resolve(f.getKey()), Path.of("..", "..", "blobs", etag));
        }
        if (main) {
            Files.createDirectories(repo.resolve("refs"));
            Files.writeString(repo.resolve("refs").resolve("main"), revision);
        }
        return snapshot;
    }

    /** config.json of the fixture and the companions transformers saved for it, by name. */
    public static Map<String, byte[]> companions() throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("config.json", Files.readAllBytes(Fixtures.tiny("legacy-base/config.json")));
        for (String name : COMPANIONS) {
            files.put(name, name.equals("README.md")
                    ? "---\nlicense: apache-2.0\n---\n# mixtral-tiny\n".getBytes(StandardCharsets.UTF_8)
                    : Files.readAllBytes(companion(name)));
        }
        return files;
    }

    public static Path companion(String name) {
        try {
            return Path.of(FakeHfCache.class.getResource("/dev/fusebox/converter/checkpoint/hf-companions/" + name)
                    .toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] shard(SafetensorsFile source, List<TensorEntry> tensors, Path scratch,
                                Map<String, String> weightMap, String name) throws IOException, FuseboxException {
        Path file = scratch.resolve(name);
        try (SafetensorsWriter w = SafetensorsWriter.create(file, Map.of("format", "pt"),
                tensors.stream().map(TensorEntry::spec).toList())) {
            for (TensorEntry t : tensors) {
                w.write(source.data(t));
                weightMap.put(t.key(), name);
            }
            w.commit();
        }
        byte[] bytes = Files.readAllBytes(file);
        Files.delete(file);
        return bytes;
    }

    /** git's object id of a blob: SHA-1 of "blob LENGTH\0" and the content (what the Hub reports as a file's etag). */
    static String gitBlobSha1(byte[] content) {
        MessageDigest md = digest("SHA-1");
        md.update(("blob " + content.length + "\0").getBytes(StandardCharsets.US_ASCII));
        return HexFormat.of().formatHex(md.digest(content));
    }

    static String sha256(byte[] content) {
        return HexFormat.of().formatHex(digest("SHA-256").digest(content));
    }

    private static MessageDigest digest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new UncheckedIOException(new IOException(e));
        }
    }
}
