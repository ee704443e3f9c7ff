#!/usr/bin/env bash
# JMH benchmarks of the forward pass's real kernels (converter/src/test/java/.../forward/KernelBenchmark.java):
# one expert projection through MatMul (3584 × 1024 bf16, 4 and 16 tokens, one thread) and a bare 1024-wide dot,
# with ScalarKernel and VectorKernel, in a JVM forked with jdk.incubator.vector. Extra arguments go to JMH (e.g.
# -f 1 -wi 1 -i 3 for a quick run, or a regex naming one benchmark). Figures go into docs/benchmarks.md.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
if [ -z "${JAVA_HOME:-}" ]; then
  JAVA_HOME=$(ls -d /usr/lib/jvm/*25* 2>/dev/null | head -n1)
fi
export JAVA_HOME
cd "$ROOT"
CP_FILE=$(mktemp)
trap 'rm -f "$CP_FILE"' EXIT
# One reactor run, so the shared test support comes from its own build (each module writes the file; the
# converter, built last, has the last word).
./mvnw -B -q -pl converter -am test-compile dependency:build-classpath -Dmdep.outputFile="$CP_FILE" >/dev/null
"$JAVA_HOME/bin/java" --sun-misc-unsafe-memory-access=allow -cp "converter/target/classes:converter/target/test-classes:$(cat "$CP_FILE")" \
  org.openjdk.jmh.Main KernelBenchmark "$@" 2>&1 | grep -v -x -F 'WARNING: Using incubator modules: jdk.incubator.vector'
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
