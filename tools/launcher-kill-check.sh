#!/usr/bin/env bash
# Checks that killing ./fusebox kills the app: the launcher execs the JVM, so the process a terminal, a timeout or
# a desktop launcher holds is the JVM itself and nothing keeps running after it is killed. Run by `./fusebox test`
# after the suite (the jars are built then); exits 1 when the check fails.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# A verify long enough to be killed in the middle: the seed preset (471 MiB, two layers of 8 experts).
"$ROOT/fusebox" sample "$WORK/seed" --preset seed >/dev/null
"$ROOT/fusebox" verify "$WORK/seed" >"$WORK/out" 2>&1 &
pid=$!
exe=""
for _ in $(seq 1200); do
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
  case "$exe" in */java) break ;; esac
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [[ "$exe" != */java ]]; then
  wait "$pid" 2>/dev/null || true
  echo "FAIL launcher: ./fusebox verify never became the JVM (it was '${exe:-gone}'); output: $(head -c 300 "$WORK/out")"
  exit 1
fi
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
sleep 0.5
left=$(pgrep -f -- "-m dev.fusebox.app/dev.fusebox.app.Main verify $WORK/seed" || true)
if [ -n "$left" ]; then
  kill -KILL $left 2>/dev/null || true
  echo "FAIL launcher: killing ./fusebox left its JVM running (pid $left)"
  exit 1
fi
echo "ok    launcher: ./fusebox verify is the JVM itself (exec), and killing it leaves nothing running"
