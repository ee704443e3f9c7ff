#!/usr/bin/env bash
# Forward-pass benchmark: a 16-token pass on the seed preset (hidden 1024, 8 experts, intermediate 3584, vocab
# 32000, 2 layers, bf16), Vector API kernel against scalar loops, and the weight bytes read against the time to
# read them once from memory; then how far merging the sample adapter and re-rounding to f32/f16/bf16 moves the
# logits (what verify's per-dtype tolerance must admit). Writes the samples once under $1 (default
# bench/work/forward, about 3.5 GB); $2 = timing or precision runs one part. Figures go into docs/benchmarks.md.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
DIR="${1:-$ROOT/bench/work/forward}"
if [ -z "${JAVA_HOME:-}" ]; then
  JAVA_HOME=$(ls -d /usr/lib/jvm/*25* 2>/dev/null | head -n1)
fi
export JAVA_HOME
cd "$ROOT"
CP_FILE=$(mktemp)
# One reactor run, so the shared test support comes from its own build (each module writes the file; the
# converter, built last, has the last word).
./mvnw -B -q -pl converter -am test-compile dependency:build-classpath -Dmdep.outputFile="$CP_FILE" >/dev/null
DEPS=$(cat "$CP_FILE")
rm -f "$CP_FILE"
mkdir -p "$DIR"
"$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -Xmx2g \
  -cp "converter/target/classes:converter/target/test-classes:$DEPS" \
  dev.fusebox.converter.forward.ForwardBenchmark "$DIR" "${2:-all}" 2>&1 | grep -v -x -F 'WARNING: Using incubator modules: jdk.incubator.vector'
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
