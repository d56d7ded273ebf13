#!/usr/bin/env bash
# Python peers for the dbt compatibility tests: a virtual environment with dbt-core and dbt-duckdb from
# PyPI at pinned versions, created once and reused while the pins are unchanged (a stamp file holds them).
# duckdb is pinned to the version @duckdb/node-api wraps (1.5.x) so both open the same warehouse file.
# Prints `MEDALLION_DBT=<venv>/bin/dbt` on stdout (eval it); everything else goes to stderr.
set -euo pipefail

DBT_CORE=1.11.16
DBT_DUCKDB=1.11.1
DUCKDB=1.5.6
PINS="dbt-core==${DBT_CORE} dbt-duckdb==${DBT_DUCKDB} duckdb==${DUCKDB}"

venv="${MEDALLION_PY_VENV:-$HOME/.cache/medallion/venv}"
stamp="$venv/.medallion-pins"
python="${PYTHON:-python3}"

if [ -x "$venv/bin/dbt" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$PINS" ]; then
  echo "python peers: reusing $venv ($PINS)" >&2
else
  echo "python peers: creating $venv ($PINS)" >&2
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  # shellcheck disable=SC2086
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $PINS >&2
  "$venv/bin/dbt" --version >&2
  echo "$PINS" >"$stamp"
fi
echo "MEDALLION_DBT=$venv/bin/dbt"
