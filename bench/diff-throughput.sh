#!/usr/bin/env bash
# Value-diff throughput against cat, peak memory, and how often each byte is read (docs/design.md §4; issue 19).
#
#   bench/diff-throughput.sh [SIZE_GIB] [DIR]
#
# In DIR (default: bench/work in this checkout) it writes checkpoint A and converts it to v5 as B: without SIZE_GIB
# A is the seed preset (`./fusebox sample A --preset seed`, 0.5 GB), with it a synthetic legacy Mixtral of about
# SIZE_GIB GiB (bench/SyntheticCheckpoint.java). Then, RUNS times (default 3), it reads both sides' weight files
# with `cat A B > /dev/null` and compares them with `./fusebox diff A B --values --json`, both from the page cache
# (a warm-up cat first), so the figures are the work done on the bytes, not the disk's. Throughput is both sides'
# bytes over the best wall time, the diff's including JVM start-up. Peak memory is the maximum resident set size
# (/usr/bin/time). Once more under strace it counts the bytes the diff reads from each weight file, against the
# file's size. The figures replace the section between the diff-throughput markers in docs/benchmarks.md.
# Everything written in DIR is removed at the end, also on failure or Ctrl-C.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
SIZE_GIB="${1:-}"
DIR="${2:-$ROOT/bench/work}"
RUNS="${RUNS:-3}"
DOC="$ROOT/docs/benchmarks.md"

[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian: apt-get install time)" >&2; exit 2; }
command -v strace >/dev/null || { echo "needs strace (Debian: apt-get install strace)" >&2; exit 2; }

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

"$ROOT/fusebox" --version >/dev/null   # builds once, outside the timings

mkdir -p "$DIR"
WORK="$(mktemp -d "$DIR/fusebox-diff-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT INT TERM
FS=$(df -T "$WORK" | awk 'NR==2 { print $2 }')

if [ -z "$SIZE_GIB" ]; then
  "$ROOT/fusebox" sample "$WORK/a" --preset seed >/dev/null
  WHAT="the seed preset (\`./fusebox sample A --preset seed\`)"
else
  JAVA=$(java_bin) || { echo "needs a JDK 25 or newer (set JAVA_HOME)" >&2; exit 2; }
  "$JAVA" "$ROOT/bench/SyntheticCheckpoint.java" "$WORK/a" "$SIZE_GIB"
  WHAT="a synthetic legacy Mixtral of about $SIZE_GIB GiB (bench/SyntheticCheckpoint.java)"
fi
"$ROOT/fusebox" convert "$WORK/a" "$WORK/b" >/dev/null
FILES=("$WORK"/a/*.safetensors "$WORK"/b/*.safetensors)
BYTES=$(stat -c %s "${FILES[@]}" | awk '{ s += $1 } END { print s }')
cat "${FILES[@]}" > /dev/null

best() { sort -g | head -n1; }
mib_s() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s / 1048576 }'; }

LOAD=$(cut -d' ' -f1 /proc/loadavg)
CAT_TIMES=(); DIFF_TIMES=(); DIFF_RSS=()
for run in $(seq "$RUNS"); do
  read -r t _ < <( { /usr/bin/time -f "%e %M" cat "${FILES[@]}" > /dev/null; } 2>&1 | tail -n1)
  CAT_TIMES+=("$t")
  out=$( { /usr/bin/time -f "%e %M" "$ROOT/fusebox" diff "$WORK/a" "$WORK/b" --values --json > "$WORK/diff.json"; } 2>&1) \
    || { echo "the converted checkpoint's values differ from its source" >&2; exit 1; }
  read -r t rss < <(echo "$out" | tail -n1)
  DIFF_TIMES+=("$t"); DIFF_RSS+=("$rss")
  echo "run $run: cat ${CAT_TIMES[-1]} s, diff --values ${DIFF_TIMES[-1]} s, peak RSS $((rss / 1024)) MiB"
done

# Bytes read from each weight file by read/pread calls (the diff reads through FileChannel, never maps them).
strace -f -qq -y -s 0 -e trace=read,pread64,readv,preadv,preadv2 -o "$WORK/trace" \
  "$ROOT/fusebox" diff "$WORK/a" "$WORK/b" --values > /dev/null
READ_RATIO=$(awk -v total="$BYTES" '
  /\.safetensors>/ && / = [0-9]+$/ { read += $NF }
  END { printf "%.4f", read / total }' "$WORK/trace")

CAT=$(printf '%s\n' "${CAT_TIMES[@]}" | best)
DIFF=$(printf '%s\n' "${DIFF_TIMES[@]}" | best)
RSS=$(printf '%s\n' "${DIFF_RSS[@]}" | sort -g | tail -n1)
RATIO=$(awk -v c="$CAT" -v d="$DIFF" 'BEGIN { printf "%.2f", c / d }')
GIB=$(awk -v b="$BYTES" 'BEGIN { printf "%.2f", b / 1073741824 }')
ROW="| $FS | $GIB GiB | $CAT s ($(mib_s "$BYTES" "$CAT") MiB/s) | $DIFF s ($(mib_s "$BYTES" "$DIFF") MiB/s) | ${RATIO}× | ${READ_RATIO}× | $((RSS / 1024)) MiB |"

SECTION="<!-- diff-throughput: written by bench/diff-throughput.sh; rerun it to refresh -->
### Value diff throughput and memory

$(date -u +%Y-%m-%d), $(nproc) cores (load average $LOAD when it started), $(free -g | awk '/Mem:/ { print $2 }') GiB RAM, best of $RUNS runs: A is
$WHAT, B its v5 conversion; \`./fusebox diff A B --values --json\` against \`cat A B > /dev/null\` of the same
weight files, both from the page cache.

| filesystem | A + B | cat | fusebox diff --values | diff / cat | bytes read / bytes in the files | peak RSS |
|---|---|---|---|---|---|---|
$ROW

\"bytes read\" counts, under strace, what the diff reads from the weight files (headers included) over their
sizes: 1.00× is each byte once.
<!-- /diff-throughput -->"

if grep -q '<!-- diff-throughput:' "$DOC"; then
  printf '%s\n' "$SECTION" > "$DOC.section"
  awk -v f="$DOC.section" '
    BEGIN { while ((getline line < f) > 0) section = section line "\n" }
    /<!-- diff-throughput:/ { printf "%s", section; skip = 1; next }
    /<!-- \/diff-throughput -->/ { skip = 0; next }
    !skip { print }' "$DOC" > "$DOC.tmp"
  mv "$DOC.tmp" "$DOC"
  rm -f "$DOC.section"
else
  printf '\n## Comparing values (`diff --values`)\n\n%s\n' "$SECTION" >> "$DOC"
fi
echo
printf '%s\n' "$SECTION"
