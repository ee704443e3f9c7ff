#!/usr/bin/env bash
# Checks the launcher's ahead-of-time caches (app/target/fusebox.aot, fusebox-gui.aot): a damaged cache never makes
# a launch fail or print anything (the JVM passes it over), a cache older than the app jar or made by another JDK
# is remade, and the remade cache is one the JVM loads. Run by `./fusebox test` after the suite (the jars are
# built then); puts the caches back as they were; exits 1 when a check fails.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
TARGET="$ROOT/app/target"
WORK=$(mktemp -d)
for c in fusebox.aot fusebox.aot.jdk fusebox-gui.aot fusebox-gui.aot.jdk; do
  [ -e "$TARGET/$c" ] && cp -p "$TARGET/$c" "$WORK/$c"
done
restore() {
  for c in fusebox.aot fusebox.aot.jdk fusebox-gui.aot fusebox-gui.aot.jdk; do
    if [ -e "$WORK/$c" ]; then cp -p "$WORK/$c" "$TARGET/$c"; else rm -f "$TARGET/$c"; fi
  done
  rm -rf "$WORK"
}
trap restore EXIT
fail() { echo "FAIL aot cache: $*"; exit 1; }
VERSION=$("$ROOT/fusebox" --version)   # builds when needed and makes the command-line cache
[ -s "$TARGET/fusebox.aot" ] || fail "the launcher made no command-line cache"
cp -p "$TARGET/fusebox.aot" "$WORK/made.aot"   # on a fresh clone the launcher only made it just now

# run NAME ARGS...: the command must exit 0, print what it prints with a good cache, and nothing on stderr.
run() {
  local name="$1"
  shift
  "$ROOT/fusebox" "$@" >"$WORK/out" 2>"$WORK/err" || fail "$name: ./fusebox $* exited $? ($(head -c 300 "$WORK/err"))"
  [ ! -s "$WORK/err" ] || fail "$name: ./fusebox $* wrote to stderr: $(head -c 300 "$WORK/err")"
}

# A damaged cache, newer than the jar and named for this JDK, so the launcher keeps it: the JVM must pass it over.
head -c 100000 /dev/urandom >"$TARGET/fusebox.aot"
run "random bytes" --version
[ "$(cat "$WORK/out")" = "$VERSION" ] || fail "random bytes: --version printed '$(cat "$WORK/out")'"
head -c $(($(stat -c %s "$WORK/made.aot") / 2)) "$WORK/made.aot" >"$TARGET/fusebox.aot"
run "a cache cut short" --version
[ "$(cat "$WORK/out")" = "$VERSION" ] || fail "a cache cut short: --version printed '$(cat "$WORK/out")'"
head -c 100000 /dev/urandom >"$TARGET/fusebox-gui.aot"
run "a damaged GUI cache" verify "$ROOT/resources/sample/legacy-base"
grep -qx 'PASSED' "$WORK/out" || fail "a damaged GUI cache: verify printed $(head -c 300 "$WORK/out")"
cp -p "$WORK/fusebox-gui.aot" "$TARGET/fusebox-gui.aot" 2>/dev/null || true

# A jar newer than the cache, then a cache another JDK made: each is remade, and the JVM loads the new one.
: >"$TARGET/fusebox.aot"
touch -d '-1 hour' "$TARGET/fusebox.aot"
run "an old cache" --version
[ -s "$TARGET/fusebox.aot" ] || fail "an old cache: the launcher did not remake it"
echo "some other JDK" >"$TARGET/fusebox.aot.jdk"
: >"$TARGET/fusebox.aot"
run "another JDK's cache" --version
[ -s "$TARGET/fusebox.aot" ] || fail "another JDK's cache: the launcher did not remake it"
[ "$(cat "$TARGET/fusebox.aot.jdk")" != "some other JDK" ] || fail "another JDK's cache: still named for the other JDK"
ls "$TARGET"/fusebox.aot.* 2>/dev/null | grep -qv '\.jdk$' && fail "a training run left its own file behind"
JAVA_TOOL_OPTIONS="-Xlog:class+load=info:file=$WORK/classes.log" "$ROOT/fusebox" --version >/dev/null 2>&1
grep -q 'dev\.fusebox\..* source: shared objects file' "$WORK/classes.log" \
  || fail "the remade cache is not loaded (no class of the app came from it)"
echo "ok    aot cache: damaged caches are passed over silently; an old cache or another JDK's is remade and loaded"
