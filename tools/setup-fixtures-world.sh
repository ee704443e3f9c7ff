#!/bin/bash
# Creates (once) the Python environment fixtures/ is rebuilt in: transformers 5.17.0, pinned by
# tools/requirements-fixtures.txt (the version fixtures/ was made with and that its saved configs name), over the
# oracle environment (tools/setup-python-oracle.sh), which supplies torch, PEFT and the rest; prints its python.
# The environment goes to tools/.venv/fixtures (ignored by git) unless FIXTURES_VENV names another place. pip's own
# configuration decides the index (see tools/setup-python-oracle.sh).
set -e
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
V=${FIXTURES_VENV:-$HERE/.venv/fixtures}
REQUIREMENTS="$HERE/requirements-fixtures.txt"
# An environment is kept when its own packages (pip freeze --path, the oracle's not counted) are exactly the pins.
pinned() { grep -v '^#' "$REQUIREMENTS" | sort; }
own() { "$V/bin/pip" freeze --path "$("$V/bin/python" -c 'import site; print(site.getsitepackages()[0])')" | sort; }
if [ "$(own 2>/dev/null)" != "$(pinned)" ]; then
  ORACLE=$("$HERE/setup-python-oracle.sh")
  SITE=$("$ORACLE" -c "import site; print(site.getsitepackages()[0])")
  rm -rf "$V"
  mkdir -p "$(dirname "$V")"
  python3 -m venv "$V" >/dev/null
  "$V/bin/pip" install -q --no-deps -r "$REQUIREMENTS" >"$V.log" 2>&1 || { echo "see $V.log" >&2; exit 3; }
  LOCAL=$("$V/bin/python" -c "import site; print(site.getsitepackages()[0])")
  echo "$SITE" > "$LOCAL/zz_oracle.pth"
fi
echo "$V/bin/python"
