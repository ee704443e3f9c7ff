#!/usr/bin/env bash
# Runs the packaged launcher the way a user without a JDK would: an empty environment (no JAVA_HOME, an empty
# PATH), the CLI on the fixtures, then the GUI on a virtual display when Xvfb is installed. Run it after
# `./fusebox package`; it exits 1 when a check fails and leaves the GUI's screenshot in dist/smoke-test-gui.png.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
LAUNCHER="$ROOT/dist/Fusebox/bin/Fusebox"
DESKTOP_LAUNCHER="$ROOT/dist/Fusebox/bin/Fusebox-desktop"   # the menu entry's: the GUI with the Vector API
SAMPLE="$ROOT/fixtures/mixtral-tiny/legacy-base"
HOME_DIR=$(mktemp -d)
failed=0

pass() { echo "ok    $*"; }
fail() { echo "FAIL  $*"; failed=1; }
bare() { env -i HOME="$HOME_DIR" PATH= "$@"; }

[ -x "$LAUNCHER" ] && [ -x "$DESKTOP_LAUNCHER" ] || { echo "smoke-test: no app image at dist/Fusebox; run './fusebox package' first." >&2; exit 2; }

json=$(bare "$LAUNCHER" inspect "$SAMPLE" --json) && code=0 || code=$?
if [ "$code" -eq 0 ] && grep -q '"kind" : "model"' <<<"$json" && grep -q '"layout" : "legacy"' <<<"$json"; then
  pass "inspect --json in an empty environment: a legacy model"
else
  fail "inspect --json in an empty environment (exit $code)"
fi

bare "$LAUNCHER" inspect "$ROOT/does-not-exist" 2>/dev/null && code=0 || code=$?
if [ "$code" -eq 2 ]; then pass "bad input exits 2"; else fail "bad input exits $code, not 2"; fi

module_version=$(sed -n 's/^ *<revision>\(.*\)<\/revision> *$/\1/p' "$ROOT/pom.xml" | head -n 1)
reported=$(bare "$LAUNCHER" --version)
if [ "$reported" = "fusebox $module_version" ]; then pass "--version: $reported"; else fail "--version says '$reported', the POM $module_version"; fi

# The Vector API's module announces itself on stderr: present for the desktop launcher, absent for the CLI's.
announce='WARNING: Using incubator modules: jdk.incubator.vector'
cli_err=$(bare "$LAUNCHER" --version 2>&1 >/dev/null)
if [ -z "$cli_err" ]; then pass "the command-line launcher keeps stderr empty"; else fail "the command-line launcher wrote '$cli_err' to stderr"; fi
desktop_err=$(bare "$DESKTOP_LAUNCHER" verify "$SAMPLE" 2>&1 >/dev/null) && code=0 || code=$?
if [ "$code" -eq 0 ] && [ "$desktop_err" = "$announce" ]; then
  pass "the desktop launcher runs verify with the Vector API"
else
  fail "the desktop launcher's verify exited $code, stderr '$desktop_err'"
fi

env -i HOME="$HOME_DIR" PATH= JAVA_TOOL_OPTIONS="-Xlog:class+load=info:file=$HOME_DIR/classes.log" \
  "$DESKTOP_LAUNCHER" --version >/dev/null 2>&1 || true
cached=$(grep -c 'source: shared objects file' "$HOME_DIR/classes.log" 2>/dev/null || true)
if [ "${cached:-0}" -gt 0 ]; then
  pass "the desktop launcher starts from its ahead-of-time cache ($cached classes)"
else
  fail "the desktop launcher loaded no class from its ahead-of-time cache"
fi

# Every licence THIRD-PARTY.txt names has its text in licenses/, and the .deb carries the same files.
image="$ROOT/dist/Fusebox/lib/legal"
missing=""
while read -r license; do
  [ -f "$image/licenses/$license.txt" ] || missing+=" $license"
done < <(sed -n 's/^ *(\([^)]*\)).*/\1/p' "$image/THIRD-PARTY.txt" 2>/dev/null | sort -u)
libraries=$(grep -c '^ *(' "$image/THIRD-PARTY.txt" 2>/dev/null || true)
if [ -f "$image/LICENSE" ] && [ -f "$image/NOTICE" ] && [ "${libraries:-0}" -gt 0 ] && [ -z "$missing" ]; then
  pass "the image holds LICENSE, NOTICE and the notices of its $libraries libraries"
else
  fail "the image's licences are incomplete (LICENSE, NOTICE, THIRD-PARTY.txt; texts missing:${missing:- none})"
fi
for deb in "$ROOT"/dist/fusebox_*.deb; do
  [ -f "$deb" ] || continue
  listing=$(dpkg-deb -c "$deb")
  if grep -q '/opt/fusebox/lib/legal/LICENSE$' <<<"$listing" \
      && grep -q '/opt/fusebox/lib/legal/THIRD-PARTY.txt$' <<<"$listing"; then
    pass "$(basename "$deb") holds LICENSE and THIRD-PARTY.txt"
  else
    fail "$(basename "$deb") lacks LICENSE or THIRD-PARTY.txt under /opt/fusebox/lib/legal"
  fi
done

if ! command -v Xvfb >/dev/null 2>&1 || ! command -v xwininfo >/dev/null 2>&1; then
  echo "skip  the GUI: needs Xvfb and xwininfo (Debian packages xvfb, x11-utils)"
else
  display=":$((90 + RANDOM % 100))"
  Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
  xvfb=$!
  env -i HOME="$HOME_DIR" PATH= DISPLAY="$display" "$DESKTOP_LAUNCHER" gui "$SAMPLE" >"$HOME_DIR/gui.log" 2>&1 &
  gui=$!
  window=""
  for _ in $(seq 60); do
    window=$(DISPLAY="$display" xwininfo -root -tree 2>/dev/null | grep -m1 '("dev\.fusebox\.' || true)
    [ -n "$window" ] || ! kill -0 "$gui" 2>/dev/null && break
    sleep 0.5
  done
  if [ -n "$window" ]; then
    pass "the GUI opened its window:${window%%+*}"
    natives=$(awk '$6 ~ /libglass/ {print $6}' "/proc/$gui/maps" 2>/dev/null | sort -u || true)
    if [[ "$natives" == "$ROOT/dist/Fusebox/lib/runtime/lib/"* ]]; then
      pass "JavaFX's native code loads from the app's own runtime"
    else
      fail "JavaFX's native code loads from '${natives:-nowhere}', not the app's runtime"
    fi
    if command -v import >/dev/null 2>&1 && command -v convert >/dev/null 2>&1; then
      # A window is mapped before JavaFX first paints it: wait for the screen to be more than one colour.
      shot="$ROOT/dist/smoke-test-gui.png"
      for _ in $(seq 60); do
        DISPLAY="$display" import -window root "$shot"
        [ "$(convert "$shot" -format '%[fx:standard_deviation>0]' info:)" = 1 ] && break
        sleep 0.5
      done
      echo "      screenshot: dist/smoke-test-gui.png"
    fi
  else
    fail "the GUI opened no window in 30 s: $(head -c 300 "$HOME_DIR/gui.log")"
  fi
  kill "$gui" 2>/dev/null || true
  kill "$xvfb" 2>/dev/null || true
  wait "$gui" "$xvfb" 2>/dev/null || true
fi

rm -rf "$HOME_DIR"
exit "$failed"
