#!/usr/bin/env bash
# verify on a Mixtral-8x7B-shaped checkpoint (87 GiB of sparse files, bench/SparseMixtral.java) with --layers 1:
# the conversion is read through its plan, so nothing is written; prints the wall and CPU time, the peak memory,
# the bytes each side read, the load average, and every file the run opened for writing (strace, when installed).
# $1 = where the sparse checkpoint goes (default bench/work/8x7b; a few hundred KB of disk). Figures go into
# docs/benchmarks.md.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
DIR="${1:-$ROOT/bench/work/8x7b}"
if [ -z "${JAVA_HOME:-}" ]; then
  JAVA_HOME=$(ls -d /usr/lib/jvm/*25* 2>/dev/null | head -n1)
fi
export JAVA_HOME
cd "$ROOT"
[ -f "$DIR/config.json" ] || "$JAVA_HOME/bin/java" bench/SparseMixtral.java "$DIR"
./fusebox --version >/dev/null   # builds first, outside the timing
OUT=$(mktemp)
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "wall %e s · user %U s · sys %S s · peak RSS %M KiB" ./fusebox verify "$DIR" --layers 1 --json >"$OUT"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$(grep -o '"passed" *: *[a-z]*' "$OUT" | head -n1) · each side (source, converted) and the expert check:" \
  $(grep -o '"weight_bytes_read" *: *[0-9]*' "$OUT" | tr -d ' ') $(grep -o '"seconds" *: *[0-9.]*' "$OUT" | tr -d ' ')
rm -f "$OUT"
if command -v strace >/dev/null; then
  LOG=$(mktemp)
  strace -f -qq -e trace=openat,creat,mkdir,rename -o "$LOG" ./fusebox verify "$DIR" --layers 1 >/dev/null
  echo "opened for writing:"; grep -E 'O_WRONLY|O_RDWR|O_CREAT|mkdir\(|rename\(' "$LOG" | grep -v -e ENOENT -e '/dev/' -e '/proc/' || true
  rm -f "$LOG"
fi
