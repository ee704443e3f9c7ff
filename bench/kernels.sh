#!/usr/bin/env bash
# Plain loops against the Vector API for the forward pass's dot product (bench/DotKernels.java), at 4 tokens (an
# expert's share of a 16-token pass) and 16 (lm_head). Figures go into docs/benchmarks.md.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
JAVA="${JAVA_HOME:-$(ls -d /usr/lib/jvm/*25* 2>/dev/null | head -n1)}/bin/java"
for tokens in 4 16; do
  "$JAVA" --add-modules jdk.incubator.vector "$ROOT/bench/DotKernels.java" "$tokens" 2>&1 \
    | grep -v -x -F 'WARNING: Using incubator modules: jdk.incubator.vector'
done
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
