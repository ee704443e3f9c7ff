#!/usr/bin/env bash
# The desktop app on a large checkpoint, under a virtual X server (Xvfb), as a user starts it with ./fusebox gui.
#   bench/app-open.sh launch DIR [N]   N cold launches (default 5): from the launcher starting to the trees of DIR
#                                      shown and the app quit (fusebox.quit), wall and CPU time (user + sys) each
#   bench/app-open.sh memory DIR [S]   one run that opens DIR, closes it (the Close action) and stays idle S
#                                      seconds (default 60): the peak resident memory, and the resident memory
#                                      with the bundled sample open (before), right after the close and every
#                                      10 s after it
# Extra JVM options for a run (to compare settings) go in FUSEBOX_BENCH_OPTIONS. DIR is typically
# bench/OpenLarge.java gen-fp8's DeepSeek-V3-FP8 shape. Prints the load average before and after: on a shared
# machine, the CPU time is the steadier figure. Needs: apt-get install -y xvfb. Figures go into docs/benchmarks.md.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
MODE="${1:?usage: app-open.sh launch|memory DIR [N|S]}"
DIR="${2:?usage: app-open.sh launch|memory DIR [N|S]}"
command -v Xvfb >/dev/null || { echo "app-open: needs Xvfb (apt-get install -y xvfb)" >&2; exit 2; }

WORK=$(mktemp -d)
XVFB_PID=""
APP_PID=""
cleanup() {
  [ -n "$APP_PID" ] && kill -- -"$APP_PID" 2>/dev/null || true
  [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
N=99
while [ -e "/tmp/.X11-unix/X$N" ] || [ -e "/tmp/.X$N-lock" ]; do N=$((N + 1)); done
Xvfb ":$N" -screen 0 1366x768x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
XVFB_PID=$!
export DISPLAY=":$N"
sleep 1
"$ROOT/fusebox" --version >/dev/null   # builds first, outside the timing
props() { echo "-Dfusebox.config.dir=$WORK/config -Dfusebox.cache.dir=$WORK/cache ${FUSEBOX_BENCH_OPTIONS:-} $*"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
rss() { sed -n 's/^VmRSS: *//p' "/proc/$1/status" 2>/dev/null || echo gone; }
hwm() { sed -n 's/^VmHWM: *//p' "/proc/$1/status" 2>/dev/null || echo gone; }

# start NAME PROPS [PATH...]: starts the app in a session of its own and waits for "fusebox: ready".
start() {
  local name="$1" p="$2"
  shift 2
  JAVA_TOOL_OPTIONS="$(props "$p")" setsid "$ROOT/fusebox" gui "$@" >"$WORK/$name.log" 2>&1 &
  APP_PID=$!
  local waited=0
  until grep -qs "^fusebox: ready" "$WORK/$name.log"; do
    sleep 0.2
    waited=$((waited + 1))
    if [ "$waited" -ge 1500 ] || ! kill -0 "$APP_PID" 2>/dev/null; then
      echo "app-open: $name was not ready:" >&2; cat "$WORK/$name.log" >&2; exit 1
    fi
  done
}
stop() {
  kill -- -"$APP_PID" 2>/dev/null || true
  wait "$APP_PID" 2>/dev/null || true
  APP_PID=""
}

echo "load average before: $(load)"
case "$MODE" in
  launch)
    # Untimed: makes the GUI's start-up cache when the build is new, and reads DIR's headers into the page cache.
    JAVA_TOOL_OPTIONS="$(props -Dfusebox.quit=true)" "$ROOT/fusebox" gui "$DIR" >/dev/null 2>&1
    for i in $(seq 1 "${3:-5}"); do
      JAVA_TOOL_OPTIONS="$(props -Dfusebox.quit=true)" /usr/bin/time -f "launch $i: wall %e s · CPU %U s user + %S s sys" \
        "$ROOT/fusebox" gui "$DIR" 2>&1 >/dev/null | grep '^launch'
    done
    ;;
  memory)
    start sample "-Dfusebox.screen=model"
    sleep 10
    echo "the sample open (before), 10 s after it showed: $(rss "$APP_PID")"
    stop
    start large "-Dfusebox.actions=CLOSE" "$DIR"
    echo "peak while opening: $(hwm "$APP_PID")"
    echo "right after the close: $(rss "$APP_PID")"
    for t in $(seq 10 10 "${3:-60}"); do
      sleep 10
      echo "${t} s after the close: $(rss "$APP_PID")"
    done
    stop
    ;;
  *) echo "app-open: mode is launch or memory" >&2; exit 2 ;;
esac
echo "load average after: $(load)"
