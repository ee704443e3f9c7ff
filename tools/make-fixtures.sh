#!/bin/bash
# Rebuilds fixtures/ from the repo with the real transformers and PEFT (tools/make-fixtures.py) and checks the result
# against fixtures/SHA256SUMS, file by file.
#
#     tools/make-fixtures.sh [--replace] [-- MAKE_FIXTURES_ARGS...]
#
# Builds into a temporary folder; prints each file that is not byte-identical to the committed one and exits 1 if
# any is not. --replace then copies the rebuilt files into fixtures/ and rewrites SHA256SUMS (the tests check it;
# rerun them). Arguments after -- go to make-fixtures.py (e.g. --fresh-inputs SEED). Sets up the fixtures' Python
# (tools/setup-fixtures-world.sh) and the legacy world (tools/setup-legacy-world.sh) first. About a minute.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
replace=no
while [ $# -gt 0 ]; do
  case "$1" in
    --replace) replace=yes; shift ;;
    --) shift; break ;;
    *) echo "usage: tools/make-fixtures.sh [--replace] [-- MAKE_FIXTURES_ARGS...]" >&2; exit 2 ;;
  esac
done
PYTHON=$("$ROOT/tools/setup-fixtures-world.sh")
LEGACY=$("$ROOT/tools/setup-legacy-world.sh")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# PEFT writes sets into adapter_config.json; this hash seed gives them the committed order.
PYTHONHASHSEED=326 "$PYTHON" "$ROOT/tools/make-fixtures.py" "$WORK/fixtures" --legacy-python "$LEGACY" "$@" \
  > "$WORK/log" 2>&1 || { cat "$WORK/log" >&2; exit 3; }
cp "$ROOT/fixtures/README.md" "$WORK/fixtures/README.md"
cd "$WORK/fixtures"
differ=$(sha256sum -c "$ROOT/fixtures/SHA256SUMS" 2>/dev/null | grep -v ': OK$' || true)
total=$(wc -l < "$ROOT/fixtures/SHA256SUMS")
if [ -z "$differ" ]; then
  echo "all $total files of fixtures/ rebuilt byte-identical"
else
  echo "$(grep -c . <<<"$differ") of $total files differ from fixtures/:"
  echo "$differ"
fi
if [ "$replace" = yes ]; then
  cp -r "$WORK/fixtures/." "$ROOT/fixtures/"
  find . -type f ! -name SHA256SUMS | LC_ALL=C sort | xargs sha256sum > "$ROOT/fixtures/SHA256SUMS"
  echo "fixtures/ replaced and SHA256SUMS rewritten; rerun the tests"
  exit 0
fi
[ -z "$differ" ]
