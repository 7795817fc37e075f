#!/usr/bin/env bash
# File size of the uuid and json options (transform.uuidAs / jsonAs): one table of ROWS rows
# (default 1,000,000: id bigint, u uuid, j jsonb), exported three times by the CLI against a worker
# of its own (strings, the default; uuidAs "uuid"; jsonAs "json") to a local folder, then each
# run's data bytes and each column's compressed bytes read from the Parquet metadata with DuckDB
# (the readers venv of scripts/bench-python.sh). Prints one table. Needs the local stack.
#   bash bench/logical-types.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
eval "$(bash scripts/stack.sh env)"
python=$(bash scripts/bench-python.sh readers)
out=$(mktemp -d /tmp/pgpq-logical-types-XXXXXX)
queue="pgpq-logical-types-$$"
export PG_PARQUET_TASK_QUEUE=$queue

psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 <<SQL
DROP TABLE IF EXISTS bench_logical_types;
CREATE TABLE bench_logical_types AS
SELECT g::bigint AS id, md5(g::text)::uuid AS u,
       jsonb_build_object('id', g, 'name', 'user ' || g, 'tags', jsonb_build_array('a', g % 7)) AS j
  FROM generate_series(1, $rows) g;
ALTER TABLE bench_logical_types ADD PRIMARY KEY (id);
ANALYZE bench_logical_types;
SQL

npx tsx src/cli/main.ts worker >"$out/worker.log" 2>&1 &
worker=$!
trap 'kill "$worker" 2>/dev/null || true; wait "$worker" 2>/dev/null || true' EXIT

for mode in strings uuid json; do
  case $mode in
    strings) transform='{}' ;;
    uuid) transform='{"uuidAs": "uuid"}' ;;
    json) transform='{"jsonAs": "json"}' ;;
  esac
  printf '{"source": {"table": "public.bench_logical_types"}, "destination": "file://%s", "transform": %s}\n' \
    "$out" "$transform" >"$out/$mode.json"
  npx tsx src/cli/main.ts export --input "$out/$mode.json" --run-key "$mode" --partitions 2 --wait --json >"$out/$mode.result.json"
done

"$python" - "$out" "$rows" <<'PY'
import glob, os, sys, duckdb
out, rows = sys.argv[1], int(sys.argv[2])
print(f"{rows:,} rows (id bigint, u uuid, j jsonb), zstd, 2 partitions, compacted")
print(f"{'run':8} {'data bytes':>12} {'u bytes':>12} {'j bytes':>12} {'u type':>22} {'j type':>16}")
base = None
for mode in ["strings", "uuid", "json"]:
    files = sorted(glob.glob(f"{out}/public.bench_logical_types/run={mode}/*.parquet"))
    total = sum(os.path.getsize(f) for f in files)
    lst = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    cols = dict(duckdb.sql(f"SELECT path_in_schema, sum(total_compressed_size) FROM parquet_metadata({lst}) GROUP BY 1").fetchall())
    types = dict(duckdb.sql(f"SELECT name, coalesce(logical_type, type) FROM parquet_schema('{files[0]}')").fetchall())
    base = base or (total, cols)
    print(f"{mode:8} {total:>12,} {cols['u']:>12,} {cols['j']:>12,} {types['u']:>22} {types['j']:>16}"
          f"   (data ÷ strings {total / base[0]:.3f}, u ÷ strings {cols['u'] / base[1]['u']:.3f})")
    # The values are the same whatever the option: compare with the default run.
    same = duckdb.sql(f"""SELECT count(*) FROM read_parquet('{out}/public.bench_logical_types/run=strings/*.parquet') a
        JOIN read_parquet({lst}) b USING (id) WHERE a.u::VARCHAR = b.u::VARCHAR AND a.j::VARCHAR = b.j::VARCHAR""").fetchall()[0][0]
    assert same == rows, f"{mode}: {same} of {rows} rows equal the default run's"
PY
rm -rf "$out"
