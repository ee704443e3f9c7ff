#!/usr/bin/env bash
# Takes the README's screenshots: runs the app on the bundled sample under a virtual X server (Xvfb, 1366×768, the
# smallest laptop screen the window is made for) and captures each screen into docs/*.png with ImageMagick.
#   docs/screenshots.sh            all screens
#   docs/screenshots.sh model      only docs/model.png
# The diff-experts case also needs python3 (standard library only) for tools/perturb-experts.py.
# Needs: apt-get install -y xvfb imagemagick. The app's config and cache go to a temporary directory, so the
# user's recent files stay as they are.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
OUT="$ROOT/docs"
SCREEN_SIZE="1366x768x24"
SETTLE="${FUSEBOX_SHOT_SETTLE:-3}"
LIMIT="${FUSEBOX_SHOT_LIMIT:-180}"

for tool in Xvfb import convert; do
  command -v "$tool" >/dev/null 2>&1 || { echo "screenshots: needs $tool (apt-get install -y xvfb imagemagick)" >&2; exit 2; }
done

WORK=$(mktemp -d)
XVFB_PID=""
APP_PID=""
cleanup() {
  [ -n "$APP_PID" ] && kill -- -"$APP_PID" 2>/dev/null || true
  [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# A display number nobody uses.
N=99
while [ -e "/tmp/.X11-unix/X$N" ] || [ -e "/tmp/.X$N-lock" ]; do N=$((N + 1)); done
Xvfb ":$N" -screen 0 "$SCREEN_SIZE" -br -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
XVFB_PID=$!
export DISPLAY=":$N"
sleep 1

# Build once, outside the timed captures.
"$ROOT/fusebox" --help >/dev/null

SAMPLE_BASE="$ROOT/resources/sample/legacy-base"
SAMPLE_ADAPTER="$ROOT/resources/sample/legacy-lora-attn_experts"

# shot NAME "JVM properties" [PATH...]: starts the app with set-up properties, waits until it prints
# "fusebox: ready" (what the properties started has finished) and the screen has shown it, captures the window
# (the root trimmed of the black background around it) and stops the app.
shot() {
  local name="$1" props="$2"
  shift 2
  echo "screenshots: $name" >&2
  # In a session of its own, so that stopping it stops the JVM under the launcher too.
  JAVA_TOOL_OPTIONS="-Dfusebox.config.dir=$WORK/config -Dfusebox.cache.dir=$WORK/cache $props" \
    setsid "$ROOT/fusebox" gui "$@" >"$WORK/$name.log" 2>&1 &
  APP_PID=$!
  local waited=0
  until grep -q "^fusebox: ready" "$WORK/$name.log"; do
    sleep 1
    waited=$((waited + 1))
    if [ "$waited" -ge "$LIMIT" ] || ! kill -0 "$APP_PID" 2>/dev/null; then
      echo "screenshots: $name was not ready in ${LIMIT}s:" >&2
      cat "$WORK/$name.log" >&2
      exit 1
    fi
  done
  sleep "$SETTLE"
  import -window root "$WORK/$name-raw.png"
  convert "$WORK/$name-raw.png" -trim +repage "$OUT/$name.png"
  kill -- -"$APP_PID" 2>/dev/null || true
  wait "$APP_PID" 2>/dev/null || true
  APP_PID=""
}

ONLY=("$@")
want() { [ ${#ONLY[@]} -eq 0 ] || [[ " ${ONLY[*]} " == *" $1 "* ]]; }

EXPERT_W1="model.layers.0.block_sparse_moe.experts.1.w1.weight"
GATE_UP="model.layers.0.mlp.experts.gate_up_proj"
SAMPLE=("$SAMPLE_BASE" "$SAMPLE_ADAPTER")

want model && shot model "-Dfusebox.select=$EXPERT_W1 -Dfusebox.actions=STATISTICS" "${SAMPLE[@]}"
want model-dark && shot model-dark "-Dfusebox.theme=dark -Dfusebox.select=$EXPERT_W1 -Dfusebox.actions=STATISTICS" \
  "${SAMPLE[@]}"
want tree-search && shot tree-search "-Dfusebox.search=experts.1.w1" "${SAMPLE[@]}"
# The v5 gate_up_proj of the legacy sample, before any conversion: its statistics read through the plan, the heat
# map of every expert stacked with its legend and the lines where w3 and each expert begin.
want heat-map && shot heat-map "-Dfusebox.select=$GATE_UP -Dfusebox.heatmap.all=true -Dfusebox.actions=STATISTICS" \
  "${SAMPLE[@]}"
# A large model: the DeepSeek-V3-FP8 shape of bench/OpenLarge.java (91 991 tensors in 163 sparse shards, 21 MB
# on disk), a routed expert's gate_proj selected and linked to its slice of the fused gate_up_proj.
if want large-model; then
  JDK="${JAVA_HOME:-$(ls -d /usr/lib/jvm/*25* 2>/dev/null | head -n1)}"
  "$JDK/bin/java" -cp "$ROOT/app/target/lib/*" "$ROOT/bench/OpenLarge.java" gen-fp8 "$WORK/deepseek-v3-fp8" >/dev/null
  shot large-model "-Dfusebox.select=model.layers.3.mlp.experts.7.gate_proj.weight" "$WORK/deepseek-v3-fp8"
fi
want mapping && shot mapping "-Dfusebox.select=$GATE_UP -Dfusebox.screen=mapping" "${SAMPLE[@]}"
mkdir -p "$WORK/converted"
want convert && shot convert "-Dfusebox.output=$WORK/converted -Dfusebox.actions=CONVERT" "${SAMPLE[@]}"
want verify && shot verify "-Dfusebox.actions=VERIFY" "${SAMPLE[@]}"
want diff && shot diff "-Dfusebox.compare=$ROOT/fixtures/mixtral-tiny/v5-merged-attn_experts.float32.safetensors" \
  "$ROOT/fixtures/mixtral-tiny/v5-base.float32.safetensors"
# A large expert count (256): only with a checkpoint made by tools/make-many-experts.py (needs torch).
if [ -n "${FUSEBOX_SHOT_MANY_EXPERTS:-}" ] && want many-experts; then
  shot many-experts "-Dfusebox.select=$GATE_UP -Dfusebox.screen=mapping" "$FUSEBOX_SHOT_MANY_EXPERTS"
fi

# The seed preset (legacy, bfloat16) against its v5 conversion after a "fine-tune" moved layer 1's experts 3 and 5
# by about 1 %: the trees open down to those experts, the chart shows the two cells; expert 3's is selected, its
# weights linked across the gutter.
if want diff-experts; then
  "$ROOT/fusebox" sample --preset seed "$WORK/seed" >/dev/null
  cp -r "$WORK/seed" "$WORK/seed-tuned"
  python3 "$ROOT/tools/perturb-experts.py" "$WORK/seed-tuned" 1:3,5 2>/dev/null
  "$ROOT/fusebox" convert --to v5 "$WORK/seed-tuned" "$WORK/seed-tuned-v5" >/dev/null
  shot diff-experts "-Dfusebox.compare=$WORK/seed-tuned-v5 -Dfusebox.diff.only=true -Dfusebox.diff.cell=cell-1-expert-3" \
    "$WORK/seed"
fi
echo "screenshots: written to $OUT" >&2
