package dev.fusebox.converter.checkpoint;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Problem;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Hugging Face hub cache, laid out as huggingface_hub 1.x writes it (file_download.py, constants.py and
 * utils/_cache_manager.py at commit ee0a451): {@code ROOT/models--ORG--NAME/} holds {@code refs/main} (the commit
 * hash {@code main} pointed to when last downloaded), {@code snapshots/<commit>/} (one folder per commit, each file a
 * relative link {@code ../../blobs/<sha>}) and {@code blobs/} (the files, named by their git SHA-1 or, for LFS
 * files, their SHA-256).
 */
public record HfCache(Path root) {

    /** validate_repo_id's rule: {@code NAME} or {@code ORG/NAME} of letters, digits, "-", "_", "."; "@REV" after. */
    private static final Pattern MODEL_ID = Pattern.compile(
            "((?:[\\w.-]+/)?[\\w.-]{1,96})(?:@([\\w./-]{1,256}))?", Pattern.UNICODE_CHARACTER_CLASS);
    /** What names a file, not a model: a missing {@code model.safetensors} is not looked for in the cache. */
    private static final Pattern FILE_NAME = Pattern.compile(".*\\.(safetensors|bin|pt|pth|json)");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
    private static final int SHORTEST_PREFIX = 7;

    /** The cache this process's environment names. */
    public static HfCache fromEnvironment() {
        return from(System.getenv(), Path.of(System.getProperty("user.home")));
    }

    /**
     * constants.py: {@code HF_HUB_CACHE}, else the older {@code HUGGINGFACE_HUB_CACHE}, else {@code HF_HOME/hub}, with
     * HF_HOME defaulting to {@code $XDG_CACHE_HOME/huggingface} and that to {@code ~/.cache/huggingface}.
     */
    static HfCache from(Map<String, String> env, Path home) {
        String hub = nonEmpty(env.get("HF_HUB_CACHE")).or(() -> nonEmpty(env.get("HUGGINGFACE_HUB_CACHE")))
                .orElse(null);
        if (hub != null) {
            return new HfCache(expandHome(hub, home));
        }
        Path hfHome = nonEmpty(env.get("HF_HOME")).map(h -> expandHome(h, home)).orElseGet(() ->
                nonEmpty(env.get("XDG_CACHE_HOME")).map(x -> expandHome(x, home)).orElse(home.resolve(".cache"))
                        .resolve("huggingface"));
        return new HfCache(hfHome.resolve("hub"));
    }

    /**
     * The snapshot folder {@code given} stands for: a repo folder's chosen snapshot, or a model id's in this cache;
     * empty when {@code given} is neither (a path to open as it is).
     */
    public Optional<Path> snapshotFor(Path given) throws FuseboxException {
        if (Files.isDirectory(given) && isRepoFolder(given)) {
            return Optional.of(snapshot(given, Optional.empty(), given));
        }
        if (Files.exists(given, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        Optional<Matcher> id = modelId(given.toString());
        if (id.isEmpty()) {
            return Optional.empty();
        }
        Path repo = repoFolder(id.get().group(1));
        if (!Files.isDirectory(repo)) {
            throw new FuseboxException(Problem.NOT_A_CHECKPOINT, given, "does not exist, and no model '"
                    + id.get().group(1) + "' is in the Hugging Face cache at " + root
                    + " (set HF_HUB_CACHE or HF_HOME to look elsewhere)");
        }
        return Optional.of(snapshot(repo, Optional.ofNullable(id.get().group(2)), given));
    }

    /** The snapshot folder of a model id ({@code ORG/NAME[@REV]}), when this cache holds it; never a local path. */
    Optional<Path> snapshotOf(String id) {
        Optional<Matcher> m = modelId(id);
        if (m.isEmpty() || !Files.isDirectory(repoFolder(m.get().group(1)))) {
            return Optional.empty();
        }
        try {
            return Optional.of(snapshot(repoFolder(m.get().group(1)), Optional.ofNullable(m.get().group(2)),
                    root.resolve(id)));
        } catch (FuseboxException e) {
            return Optional.empty();
        }
    }

    /** {@code text} read as a model id, unless it breaks validate_repo_id's rules or names a file by its extension. */
    private static Optional<Matcher> modelId(String text) {
        Matcher m = MODEL_ID.matcher(text);
        return m.matches() && !text.contains("..") && !m.group(1).contains(CachedModel.SEPARATOR)
                && !FILE_NAME.matcher(m.group(1)).matches() ? Optional.of(m) : Optional.empty();
    }

    private Path repoFolder(String id) {
        return root.resolve(CachedModel.REPO_PREFIX + id.replace("/", CachedModel.SEPARATOR));
    }

    /** Every model snapshot in the cache, as huggingface_hub's scan_cache_dir lists them: by id, then revision. */
    public List<CachedModel> snapshots() throws FuseboxException {
        List<CachedModel> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return out;
        }
        List<Path> repos = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(root, CachedModel.REPO_PREFIX + "*")) {
            s.forEach(repos::add);
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, root, "could not be listed (" + IoReason.of(e) + ")", e);
        }
        repos.sort(null);
        for (Path repo : repos) {
            Optional<String> id = CachedModel.repoId(repo);
            if (id.isPresent() && Files.isDirectory(repo, LinkOption.NOFOLLOW_LINKS)) {
                for (Path snapshot : snapshotsIn(repo.resolve("snapshots"))) {
                    out.add(new CachedModel(id.get(), snapshot.getFileName().toString(), repo));
                }
            }
        }
        return out;
    }

    private static boolean isRepoFolder(Path dir) {
        Path name = dir.toAbsolutePath().normalize().getFileName();
        return name != null && CachedModel.repoId(name).isPresent() && Files.isDirectory(dir.resolve("snapshots"));
    }

    /**
     * A repo folder's snapshot: the one {@code revision} names (a ref such as {@code main}, a commit, or a commit's
     * first seven or more characters), else refs/main's, else the only one, else the newest.
     */
    private static Path snapshot(Path repo, Optional<String> revision, Path given) throws FuseboxException {
        Path snapshots = repo.resolve("snapshots");
        List<Path> all = snapshotsIn(snapshots);
        if (all.isEmpty()) {
            throw new FuseboxException(Problem.NOT_A_CHECKPOINT, given, "is a Hugging Face cache folder with no "
                    + "snapshot in " + snapshots + "; download the model again");
        }
        if (revision.isPresent()) {
            String rev = revision.get();
            Optional<Path> named = ref(repo, rev).map(snapshots::resolve).filter(all::contains)
                    .or(() -> Optional.of(snapshots.resolve(rev)).filter(all::contains));
            if (named.isPresent()) {
                return named.get();
            }
            List<Path> prefixed = rev.length() < SHORTEST_PREFIX ? List.of()
                    : all.stream().filter(p -> p.getFileName().toString().startsWith(rev)).toList();
            if (prefixed.size() == 1) {
                return prefixed.getFirst();
            }
            throw new FuseboxException(Problem.NOT_A_CHECKPOINT, given, "names the revision '" + rev + "', which "
                    + (prefixed.isEmpty() ? "is not" : "matches more than one snapshot") + " in " + snapshots
                    + "; cached: " + String.join(", ", all.stream().map(p -> p.getFileName().toString()).toList()));
        }
        Optional<Path> main = ref(repo, "main").map(snapshots::resolve).filter(all::contains);
        if (main.isPresent()) {
            return main.get();
        }
        Path newest = all.getFirst();
        for (Path p : all) {
            if (modified(p).compareTo(modified(newest)) > 0) {
                newest = p;
            }
        }
        return newest;
    }

    private static List<Path> snapshotsIn(Path snapshots) throws FuseboxException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(snapshots)) {
            return out;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(snapshots)) {
            for (Path p : s) {
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    out.add(p);
                }
            }
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, snapshots, "could not be listed (" + IoReason.of(e) + ")", e);
        }
        out.sort(null);
        return out;
    }

    /** The commit {@code refs/NAME} holds, if it is a regular file holding one (it is written without a newline). */
    private static Optional<String> ref(Path repo, String name) {
        Path refs = repo.resolve("refs");
        Path file = refs.resolve(name).normalize();
        if (!file.startsWith(refs) || !Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            String text = new String(in.readNBytes(128), StandardCharsets.US_ASCII).strip();
            return COMMIT.matcher(text).matches() ? Optional.of(text) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static FileTime modified(Path p) {
        try {
            return Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            return FileTime.fromMillis(0);
        }
    }

    private static Optional<String> nonEmpty(String s) {
        return s == null || s.isEmpty() ? Optional.empty() : Optional.of(s);
    }

    private static Path expandHome(String path, Path home) {
        if (path.equals("~")) {
            return home;
        }
        return path.startsWith("~/") ? home.resolve(path.substring(2)) : Path.of(path);
    }
}
