# Sourced by the set-up scripts: PIP_INDEX_ARGS, the index pip should use. PIP_INDEX_URL, when set, decides (pip
# reads it itself). Otherwise a machine image's on-disk index, when there is one, goes first: where that is the
# only index reachable, pip would otherwise spend minutes retrying the default one for each package.
PIP_INDEX_ARGS=()
if [ -z "${PIP_INDEX_URL:-}" ] && [ -d /opt/pypi/simple ]; then
  PIP_INDEX_ARGS+=(--index-url file:///opt/pypi/simple)
  [ -d /opt/pypi-more/simple ] && PIP_INDEX_ARGS+=(--extra-index-url file:///opt/pypi-more/simple)
fi
