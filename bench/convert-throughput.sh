#!/usr/bin/env bash
# Conversion throughput against cp, and peak memory (docs/design.md §4: at least 0.9x cp, under 256 MiB).
#
#   bench/convert-throughput.sh [SIZE_GIB] [DIR...]
#
# In each DIR (default: bench/work in this checkout) it writes a synthetic legacy Mixtral checkpoint of about
# SIZE_GIB GiB (default 4), then, RUNS times (default 2), copies it with `cp -r` and converts it to v5 with
# `./fusebox convert`, each followed by `sync` so both are timed until the data is on disk (the converter fsyncs
# its shards; cp alone would stop at the page cache). Throughput is the checkpoint's bytes over the best wall time,
# the converter's including JVM start-up. Peak memory is the maximum resident set size (/usr/bin/time). The
# figures replace the section between the convert-throughput markers in docs/benchmarks.md. Everything written
# in DIR is removed at the end, also on failure or Ctrl-C.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
SIZE_GIB="${1:-4}"
shift || true
DIRS=("$@")
[ ${#DIRS[@]} -eq 0 ] && DIRS=("$ROOT/bench/work")
RUNS="${RUNS:-2}"
DOC="$ROOT/docs/benchmarks.md"

[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian: apt-get install time)" >&2; exit 2; }

java_bin() {
  local j
  for j in "${JAVA_HOME:-}" $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
    [ -n "$j" ] && [ -x "$j/bin/java" ] || continue
    if "$j/bin/java" -version 2>&1 | head -n1 | grep -qE '"(2[5-9]|[3-9][0-9])'; then
      echo "$j/bin/java"
      return 0
    fi
  done
  return 1
}
JAVA=$(java_bin) || { echo "needs a JDK 25 or newer (set JAVA_HOME)" >&2; exit 2; }

"$ROOT/fusebox" --version >/dev/null   # builds once, outside the timings

CLEAN=()
cleanup() { for d in "${CLEAN[@]}"; do rm -rf "$d"; done; }
trap cleanup EXIT INT TERM

best() { sort -g | head -n1; }
mib_s() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s / 1048576 }'; }

LOAD=$(cut -d' ' -f1 /proc/loadavg)
ROWS=""
for DIR in "${DIRS[@]}"; do
  mkdir -p "$DIR"
  WORK="$(mktemp -d "$DIR/fusebox-bench.XXXXXX")"
  CLEAN+=("$WORK")
  FS=$(df -T "$WORK" | awk 'NR==2 { print $2 }')
  echo "== $WORK ($FS)"
  "$JAVA" "$ROOT/bench/SyntheticCheckpoint.java" "$WORK/legacy" "$SIZE_GIB"
  sync
  BYTES=$(stat -c %s "$WORK"/legacy/*.safetensors | awk '{ s += $1 } END { print s }')
  CP_TIMES=(); CV_TIMES=(); CV_RSS=(); ENGINE=()
  for run in $(seq "$RUNS"); do
    rm -rf "$WORK/copy" "$WORK/v5"; sync
    read -r t _ < <( { /usr/bin/time -f "%e %M" sh -c "cp -r '$WORK/legacy' '$WORK/copy' && sync" >/dev/null; } 2>&1 | tail -n1)
    CP_TIMES+=("$t")
    rm -rf "$WORK/copy"; sync
    out=$( { /usr/bin/time -f "%e %M" sh -c "'$ROOT/fusebox' convert '$WORK/legacy' '$WORK/v5' --json && sync"; } 2>&1)
    read -r t rss < <(echo "$out" | tail -n1)
    CV_TIMES+=("$t"); CV_RSS+=("$rss")
    ENGINE+=("$(echo "$out" | sed -n 's/.*"seconds" : \([0-9.E-]*\).*/\1/p')")
    echo "run $run: cp+sync ${CP_TIMES[-1]} s, convert+sync ${CV_TIMES[-1]} s (engine ${ENGINE[-1]} s), peak RSS $((rss / 1024)) MiB"
  done
  "$ROOT/fusebox" diff "$WORK/legacy" "$WORK/v5" >/dev/null || { echo "the converted checkpoint differs from its source" >&2; exit 1; }
  CP=$(printf '%s\n' "${CP_TIMES[@]}" | best)
  CV=$(printf '%s\n' "${CV_TIMES[@]}" | best)
  EN=$(printf '%s\n' "${ENGINE[@]}" | best | awk '{ printf "%.2f", $1 }')
  RSS=$(printf '%s\n' "${CV_RSS[@]}" | sort -g | tail -n1)
  RATIO=$(awk -v c="$CP" -v v="$CV" 'BEGIN { printf "%.2f", c / v }')
  ROWS+="| $FS | $(awk -v b="$BYTES" 'BEGIN { printf "%.2f", b / 1073741824 }') GiB | $CP s ($(mib_s "$BYTES" "$CP") MiB/s) | $CV s ($(mib_s "$BYTES" "$CV") MiB/s) | ${RATIO}× | $EN s ($(mib_s "$BYTES" "$EN") MiB/s) | $((RSS / 1024)) MiB |"$'\n'
  rm -rf "$WORK"
done

SECTION="<!-- convert-throughput: written by bench/convert-throughput.sh; rerun it to refresh -->
### Convert throughput and memory

$(date -u +%Y-%m-%d), $(nproc) cores (load average $LOAD when it started), $(free -g | awk '/Mem:/ { print $2 }') GiB RAM, best of $RUNS runs, a synthetic legacy
Mixtral (seed shape: hidden 1024, intermediate 3584, 8 experts, bf16) converted to v5 with \`./fusebox convert\`.
Goal: at least 0.9× the throughput of \`cp\`, peak RSS under 256 MiB.

| filesystem | checkpoint | cp -r + sync | fusebox convert + sync | convert / cp | engine alone | peak RSS |
|---|---|---|---|---|---|---|
${ROWS}
\"engine alone\" is the time the converter reports for writing (plan done, JVM started; includes its fsync).
The gap between it and the whole command is fixed per run (JVM start-up, reading headers and rules, planning),
so the end-to-end ratio rises with the checkpoint's size.
<!-- /convert-throughput -->"

mkdir -p "$(dirname "$DOC")"
[ -f "$DOC" ] || printf '# Benchmarks\n\nFigures from the scripts in bench/; each script rewrites its own section.\n\n' > "$DOC"
if grep -q '<!-- convert-throughput:' "$DOC"; then
  printf '%s\n' "$SECTION" > "$DOC.section"
  awk -v f="$DOC.section" '
    BEGIN { while ((getline line < f) > 0) section = section line "\n" }
    /<!-- convert-throughput:/ { printf "%s", section; skip = 1; next }
    /<!-- \/convert-throughput -->/ { skip = 0; next }
    !skip { print }' "$DOC" > "$DOC.tmp"
  mv "$DOC.tmp" "$DOC"
  rm -f "$DOC.section"
else
  printf '%s\n' "$SECTION" >> "$DOC"
fi
echo
printf '%s\n' "$SECTION"
