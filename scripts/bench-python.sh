#!/usr/bin/env bash
# The Python packages of the benchmark anchors (../shared/bench/*.py), pinned, installed once into
# a cached environment per profile. Idempotent; safe to run concurrently (a lock serialises installs).
#   bash scripts/bench-python.sh [PROFILE]   prints the path of a python executable that has them
# Profiles:
#   anchors    (default) ConnectorX + Polars and the compaction engines (anchor_connectorx_polars.py,
#              anchor_compact.py)
#   duckdb-pg  DuckDB's postgres scanner (anchor_duckdb_pg.py). An environment of its own: the
#              extension wheel's version must equal duckdb's, and the compaction anchor pins another
#              duckdb.
#   readers    the Parquet readers of test/integration/readers.test.ts (Polars, pyarrow, DuckDB and
#              PySpark, which runs Spark 3.5 on the machine's Java 17). ~320 MB download, ~790 MB installed (~25 s).
# Environment: PG_PARQUET_BENCH_VENV overrides the location of the default profile's environment
# (default ${XDG_CACHE_HOME:-~/.cache}/temporal-pg-parquet/bench-venv), PG_PARQUET_BENCH_DUCKDB_VENV
# that of duckdb-pg (default …/bench-venv-duckdb-pg), PG_PARQUET_READERS_VENV that of readers
# (default …/readers-venv).
# Uses `python3 -m venv`; where the venv module is missing (Debian without python3-venv) it falls
# back to `pip install --target` plus a small wrapper script that sets PYTHONPATH.
set -euo pipefail

cache=${XDG_CACHE_HOME:-$HOME/.cache}/temporal-pg-parquet
profile=${1:-anchors}
# Versions that install from the package registry on linux x86_64 / CPython 3.11.
case $profile in
  anchors)
    REQUIREMENTS=(connectorx==0.4.6 polars==2.1.0 pyarrow==26.0.1 duckdb==2.0.0)
    IMPORTS='import connectorx, polars, pyarrow, duckdb'
    venv=${PG_PARQUET_BENCH_VENV:-$cache/bench-venv}
    ;;
  duckdb-pg)
    REQUIREMENTS=(duckdb==1.5.5 duckdb-extension-postgres-scanner==1.5.5 pyarrow==26.0.1)
    # Imports, and loads the extension by path as anchor_duckdb_pg.py does.
    IMPORTS=$(
      cat <<'PY'
import os, duckdb, pyarrow, duckdb_extension_postgres_scanner as pkg
ext = os.path.join(os.path.dirname(pkg.__file__), "extensions", f"v{duckdb.__version__}", "postgres_scanner.duckdb_extension")
duckdb.connect(config={"autoinstall_known_extensions": False}).execute(f"LOAD '{ext}'")
PY
    )
    venv=${PG_PARQUET_BENCH_DUCKDB_VENV:-$cache/bench-venv-duckdb-pg}
    ;;
  readers)
    REQUIREMENTS=(polars==2.1.0 pyarrow==26.0.1 duckdb==2.0.0 pyspark==3.5.7)
    IMPORTS='import polars, pyarrow.dataset, duckdb, pyspark.sql'
    venv=${PG_PARQUET_READERS_VENV:-$cache/readers-venv}
    ;;
  *)
    echo "bench-python: unknown profile '$profile' (anchors | duckdb-pg | readers)" >&2
    exit 2
    ;;
esac
want=$(printf '%s\n' "${REQUIREMENTS[@]}")
stamp=$venv/.bench-requirements

# The executable to hand out: the venv's python, or the wrapper of the --target fallback.
entry() {
  if [[ -x $venv/bin/python ]]; then echo "$venv/bin/python"; else echo "$venv/bench-python"; fi
}

ready() {
  local py
  py=$(entry)
  [[ -x $py && -f $stamp && "$(cat "$stamp")" == "$want" ]] && "$py" -c "$IMPORTS" 2>/dev/null
}

if ready; then
  entry
  exit 0
fi

command -v python3 >/dev/null || {
  echo "bench-python: python3 is required for the anchors (apt-get install python3)" >&2
  exit 1
}
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if ready; then # another process installed while we waited for the lock
  entry
  exit 0
fi

echo "bench-python: installing ${REQUIREMENTS[*]} into $venv (once)…" >&2
if [[ -x $venv/bin/python ]] || python3 -m venv "$venv" >&2 2>/dev/null; then
  "$venv/bin/python" -m pip install --quiet "${REQUIREMENTS[@]}" >&2
else
  # No venv module: install into a plain folder and wrap the system python around it.
  rm -rf "$venv"
  mkdir -p "$venv/site"
  system_python=$(python3 -c 'import sys; print(sys.executable)')
  "$system_python" -m pip install --quiet --target "$venv/site" "${REQUIREMENTS[@]}" >&2 || {
    echo "bench-python: neither 'python3 -m venv' nor 'python3 -m pip' works here;" \
      "install python3-venv (apt-get install python3-venv)" >&2
    exit 1
  }
  printf '#!/bin/sh\nPYTHONPATH="%s${PYTHONPATH:+:$PYTHONPATH}" exec "%s" "$@"\n' "$venv/site" "$system_python" \
    >"$venv/bench-python"
  chmod +x "$venv/bench-python"
fi
"$(entry)" -c "$IMPORTS"
printf '%s\n' "$want" >"$stamp"
entry
