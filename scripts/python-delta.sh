#!/usr/bin/env bash
# Independent Delta Lake peer for the Delta tests: a virtual environment with `deltalake` (delta-rs)
# and `pyarrow` from PyPI at pinned versions, created once and reused while the pins are unchanged
# (a stamp file holds them). Prints `MEDALLION_DELTA_PYTHON=<venv>/bin/python` on stdout (eval it);
# everything else goes to stderr.
set -euo pipefail

DELTALAKE=1.6.6
PYARROW=26.0.1
PINS="deltalake==${DELTALAKE} pyarrow==${PYARROW}"

venv="${MEDALLION_DELTA_VENV:-$HOME/.cache/medallion/venv-delta}"
stamp="$venv/.medallion-pins"
python="${PYTHON:-python3}"

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$PINS" ]; then
  echo "delta peer: reusing $venv ($PINS)" >&2
else
  echo "delta peer: creating $venv ($PINS)" >&2
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  # shellcheck disable=SC2086
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $PINS >&2
  "$venv/bin/python" -c 'import deltalake, pyarrow; print("deltalake", deltalake.__version__, "pyarrow", pyarrow.__version__)' >&2
  echo "$PINS" >"$stamp"
fi
echo "MEDALLION_DELTA_PYTHON=$venv/bin/python"
