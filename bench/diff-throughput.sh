#!/usr/bin/env bash
# Value-diff throughput against cat, peak memory, and how often each byte is read (docs/design.md §4; issue 19).
#
#   bench/diff-throughput.sh [SIZE_GIB | 8x7b] [DIR]
#
# In DIR (default: bench/work in this checkout) it writes checkpoint A and converts it to v5 as B: without SIZE_GIB
# A is the seed preset (`./fusebox sample A --preset seed`, 0.5 GB), with it a synthetic legacy Mixtral of about
# SIZE_GIB GiB (bench/SyntheticCheckpoint.java). With 8x7b, A is a legacy Mixtral-8x7B and B the same model in the
# v5 layout, both written by bench/SparseMixtral.java as sparse files (87 GiB a side, a few MB of disk; holes read
# as zeros, by cat as by the diff); LAYERS (default 32) keeps that many of its layers, each tensor of 8x7B's shape.
# Then, RUNS times (default 3), it reads both sides' weight files
# with `cat A B > /dev/null` and compares them with `./fusebox diff A B --values --json`, both from the page cache
# (a warm-up cat first), so the figures are the work done on the bytes, not the disk's. Throughput is both sides'
# bytes over the best wall time, the diff's including JVM start-up. Peak memory is the maximum resident set size
# (/usr/bin/time). Once more under strace it counts the bytes the diff reads from each weight file, against the
# file's size, and once on a pseudo-terminal (script) it counts the progress lines the diff draws. The figures
# replace the section between the diff-throughput markers (diff-throughput-8x7b for 8x7b) in docs/benchmarks.md.
# Everything written in DIR is removed at the end, also on failure or Ctrl-C. FUSEBOX names the launcher to time
# (default: ./fusebox of this checkout).
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
SIZE_GIB="${1:-}"
DIR="${2:-$ROOT/bench/work}"
RUNS="${RUNS:-3}"
LAYERS="${LAYERS:-32}"
DOC="$ROOT/docs/benchmarks.md"
FUSEBOX="${FUSEBOX:-$ROOT/fusebox}"
MARK=diff-throughput
TITLE="Value diff throughput and memory"
if [ "$SIZE_GIB" = 8x7b ]; then
  MARK=diff-throughput-8x7b
  TITLE="Value diff at Mixtral-8x7B's shape"
fi

[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian: apt-get install time)" >&2; exit 2; }
command -v strace >/dev/null || { echo "needs strace (Debian: apt-get install strace)" >&2; exit 2; }
command -v script >/dev/null || { echo "needs script (Debian: apt-get install bsdutils)" >&2; exit 2; }

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

"$FUSEBOX" --version >/dev/null   # builds once, outside the timings

mkdir -p "$DIR"
WORK="$(mktemp -d "$DIR/fusebox-diff-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT INT TERM
FS=$(df -T "$WORK" | awk 'NR==2 { print $2 }')

if [ -z "$SIZE_GIB" ]; then
  "$FUSEBOX" sample "$WORK/a" --preset seed >/dev/null
  WHAT="the seed preset (\`./fusebox sample A --preset seed\`), B its v5 conversion"
  "$FUSEBOX" convert "$WORK/a" "$WORK/b" >/dev/null
elif [ "$SIZE_GIB" = 8x7b ]; then
  JAVA=$(java_bin) || { echo "needs a JDK 25 or newer (set JAVA_HOME)" >&2; exit 2; }
  "$JAVA" "$ROOT/bench/SparseMixtral.java" "$WORK/a" legacy "$LAYERS" >/dev/null
  "$JAVA" "$ROOT/bench/SparseMixtral.java" "$WORK/b" v5 "$LAYERS" >/dev/null
  WHAT="a legacy Mixtral-8x7B ($LAYERS of its 32 layers, every tensor of its shape, bfloat16) and B the same in the v5
layout, sparse files written by bench/SparseMixtral.java (holes, read as zeros by cat and the diff alike)"
else
  JAVA=$(java_bin) || { echo "needs a JDK 25 or newer (set JAVA_HOME)" >&2; exit 2; }
  "$JAVA" "$ROOT/bench/SyntheticCheckpoint.java" "$WORK/a" "$SIZE_GIB"
  WHAT="a synthetic legacy Mixtral of about $SIZE_GIB GiB (bench/SyntheticCheckpoint.java), B its v5 conversion"
  "$FUSEBOX" convert "$WORK/a" "$WORK/b" >/dev/null
fi
FILES=("$WORK"/a/*.safetensors "$WORK"/b/*.safetensors)
BYTES=$(stat -c %s "${FILES[@]}" | awk '{ s += $1 } END { print s }')
cat "${FILES[@]}" > /dev/null

best() { sort -g | head -n1; }
mib_s() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s / 1048576 }'; }

LOAD=$(cut -d' ' -f1 /proc/loadavg)
CAT_TIMES=(); DIFF_TIMES=(); DIFF_RSS=(); DIFF_CPU=()
for run in $(seq "$RUNS"); do
  read -r t _ < <( { /usr/bin/time -f "%e %M" cat "${FILES[@]}" > /dev/null; } 2>&1 | tail -n1)
  CAT_TIMES+=("$t")
  out=$( { /usr/bin/time -f "%e %M %U %S" "$FUSEBOX" diff "$WORK/a" "$WORK/b" --values --json > "$WORK/diff.json"; } 2>&1) \
    || { echo "the converted checkpoint's values differ from its source" >&2; exit 1; }
  read -r t rss user sys < <(echo "$out" | tail -n1)
  DIFF_TIMES+=("$t"); DIFF_RSS+=("$rss"); DIFF_CPU+=("$t $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')")
  echo "run $run: cat ${CAT_TIMES[-1]} s, diff --values ${DIFF_TIMES[-1]} s (CPU ${DIFF_CPU[-1]#* } s)," \
    "peak RSS $((rss / 1024)) MiB"
done

# Bytes read from each weight file by read/pread calls (the diff reads through FileChannel, never maps them).
strace -f -qq -y -s 0 -e trace=read,pread64,readv,preadv,preadv2 -o "$WORK/trace" \
  "$FUSEBOX" diff "$WORK/a" "$WORK/b" --values > /dev/null
# Lanes read at once, so a read may be cut in two lines, "<unfinished ...>" and "<... resumed>", by thread id.
READ_RATIO=$(awk -v total="$BYTES" '
  / <unfinished \.\.\.>$/ { pending[$1] = ($0 ~ /\.safetensors>/); next }
  / resumed>/ { if (pending[$1] && / = [0-9]+$/) read += $NF; delete pending[$1]; next }
  /\.safetensors>/ && / = [0-9]+$/ { read += $NF }
  END { printf "%.4f", read / total }' "$WORK/trace")

# The progress line the diff draws on a terminal: how many times it was drawn, and the last one.
script -qec "'$FUSEBOX' diff '$WORK/a' '$WORK/b' --values" /dev/null > "$WORK/tty" 2>&1 || :
LINES=$(tr '\r' '\n' < "$WORK/tty" | grep -E '^ *[0-9]+%  ' || :)
DRAWN=$(printf '%s\n' "$LINES" | grep -c '%' || :)
LAST=$(printf '%s\n' "$LINES" | tail -n1 | sed 's/ *$//')

CAT=$(printf '%s\n' "${CAT_TIMES[@]}" | best)
DIFF=$(printf '%s\n' "${DIFF_TIMES[@]}" | best)
CPU=$(printf '%s\n' "${DIFF_CPU[@]}" | sort -g | head -n1 | cut -d' ' -f2)
RSS=$(printf '%s\n' "${DIFF_RSS[@]}" | sort -g | tail -n1)
RATIO=$(awk -v c="$CAT" -v d="$DIFF" 'BEGIN { printf "%.2f", c / d }')
GIB=$(awk -v b="$BYTES" 'BEGIN { printf "%.2f", b / 1073741824 }')
ROW="| $FS | $GIB GiB | $CAT s ($(mib_s "$BYTES" "$CAT") MiB/s) | $DIFF s ($(mib_s "$BYTES" "$DIFF") MiB/s) | $CPU s | ${RATIO}× | ${READ_RATIO}× | $((RSS / 1024)) MiB |"

SECTION="<!-- $MARK: written by bench/diff-throughput.sh; rerun it to refresh -->
### $TITLE

$(date -u +%Y-%m-%d), $(nproc) cores (load average $LOAD when it started), $(free -g | awk '/Mem:/ { print $2 }') GiB RAM, best of $RUNS runs: A is
$WHAT; \`./fusebox diff A B --values --json\` against \`cat A B > /dev/null\` of the same weight files, both
from the page cache.

| filesystem | A + B | cat | fusebox diff --values | its CPU time | diff / cat | bytes read / bytes in the files | peak RSS |
|---|---|---|---|---|---|---|---|
$ROW

\"its CPU time\" is user + system time of the best run, over all its threads (tensors are compared a lane per
core, at most 8). \"bytes read\" counts, under strace, what the diff reads from the weight files (headers included) over their
sizes: 1.00× is each byte once. On a terminal the diff drew its progress line $DRAWN times, the last:
\`$LAST\`.
<!-- /$MARK -->"

if grep -q "<!-- $MARK:" "$DOC"; then
  printf '%s\n' "$SECTION" > "$DOC.section"
  awk -v f="$DOC.section" -v mark="$MARK" '
    BEGIN { while ((getline line < f) > 0) section = section line "\n" }
    index($0, "<!-- " mark ":") == 1 { printf "%s", section; skip = 1; next }
    $0 == "<!-- /" mark " -->" { skip = 0; next }
    !skip { print }' "$DOC" > "$DOC.tmp"
  mv "$DOC.tmp" "$DOC"
  rm -f "$DOC.section"
elif grep -q '<!-- /diff-throughput -->' "$DOC"; then
  # The 8x7B section goes after the first one.
  printf '%s\n' "$SECTION" > "$DOC.section"
  awk -v f="$DOC.section" '
    BEGIN { while ((getline line < f) > 0) section = section line "\n" }
    { print }
    $0 == "<!-- /diff-throughput -->" { printf "\n%s", section }' "$DOC" > "$DOC.tmp"
  mv "$DOC.tmp" "$DOC"
  rm -f "$DOC.section"
else
  printf '\n## Comparing values (`diff --values`)\n\n%s\n' "$SECTION" >> "$DOC"
fi
echo
printf '%s\n' "$SECTION"
