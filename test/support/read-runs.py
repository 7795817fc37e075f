r"""Reads exported runs with DuckDB, Polars, pyarrow and Spark, the way the README says to.

Used by test/integration/readers.test.ts, run with the `readers` profile of scripts/bench-python.sh.
Input (JSON on stdin):
  {"dest": "/abs/destination", "table": "public.t", "hiveRun": "<runKey>", "spark": true,
   "typeDest": "/abs/other-destination", "typeRuns": {"<name>": "<runKey>", ...}, "out": "/abs/out.json"}
Output (JSON written to "out"): {"<reader>:<form>": {"columns": [...], "rows": [[...], ...]} | {"error": "<type>"},
  "latest": {...}, "latestSucceeded": bool, "<reader>:<form>:counts": {"<runKey>": n, ...}}
Every value is normalised to text: integers and decimals as PostgreSQL prints them, timestamps as
µs since the Unix epoch, dates as ISO, times as µs since midnight (a time-typed column) or as read
(a text column), booleans as true/false, a uuid object in its canonical form, bytes as \x and hex.
Rows are sorted by id. Each read also gives "types": every column's type as the engine names it.
"""

import datetime
import decimal
import json
import os
import sys
import uuid

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def cell(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, decimal.Decimal):
        return format(v, "f")
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)  # Spark: session and process in UTC
        return str((v - EPOCH) // datetime.timedelta(microseconds=1))
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, datetime.time):
        return str(((v.hour * 60 + v.minute) * 60 + v.second) * 1_000_000 + v.microsecond)
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, (bytes, bytearray)):
        return "\\x" + bytes(v).hex()
    return str(v)


def from_arrow(table, types=None):
    columns = table.column_names
    rows = [[cell(r[c]) for c in columns] for r in table.to_pylist()]
    rows.sort(key=lambda r: int(r[columns.index("id")]))
    if types is None:
        types = {f.name: str(f.type) for f in table.schema}
    return {"columns": columns, "rows": rows, "types": types}


def from_duckdb(rel):
    return from_arrow(arrow_of(rel), {c: str(t) for c, t in zip(rel.columns, rel.types)})


def from_polars(df):
    return from_arrow(df.to_arrow(), {c: str(t) for c, t in df.schema.items()})


def attempt(out, name, fn):
    try:
        out[name] = fn()
    except Exception as e:  # the test asserts on the type, never on the message
        out[name] = {"error": type(e).__name__, "message": str(e)[:2000]}


def arrow_of(rel):
    t = rel.arrow()
    return t.read_all() if hasattr(t, "read_all") else t


def main():
    spec = json.load(sys.stdin)
    dest, table = spec["dest"], spec["table"]
    table_dir = os.path.join(dest, table)
    hive_run = spec["hiveRun"]
    out = {}

    import duckdb
    import polars as pl
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    # The newest successful run: _latest.json, and only once its _SUCCESS is there.
    with open(os.path.join(table_dir, "_latest.json")) as f:
        latest = json.load(f)
    out["latest"] = latest
    out["latestSucceeded"] = os.path.exists(os.path.join(dest, latest["successKey"]))
    run_dir = os.path.join(dest, latest["runPrefix"])

    attempt(out, "duckdb:glob", lambda: from_arrow(arrow_of(duckdb.sql(f"SELECT * FROM read_parquet('{run_dir}*.parquet')"))))
    hive_sql = f"read_parquet('{table_dir}/*/*.parquet', hive_partitioning = true)"
    attempt(out, "duckdb:hive", lambda: from_arrow(arrow_of(duckdb.sql(f"SELECT * FROM {hive_sql} WHERE run = '{hive_run}'"))))
    attempt(out, "duckdb:hive:counts", lambda: dict(duckdb.sql(f"SELECT run, count(*) FROM {hive_sql} GROUP BY run").fetchall()))

    attempt(out, "polars:glob", lambda: from_arrow(pl.read_parquet(f"{run_dir}*.parquet").to_arrow()))
    polars_hive = lambda: pl.scan_parquet(f"{table_dir}/run=*/*.parquet", hive_partitioning=True, try_parse_hive_dates=False)
    attempt(out, "polars:hive", lambda: from_arrow(polars_hive().filter(pl.col("run") == hive_run).collect().to_arrow()))
    attempt(out, "polars:hive:counts", lambda: dict(polars_hive().group_by("run").len().collect().rows()))

    attempt(out, "pyarrow:folder", lambda: from_arrow(pq.read_table(run_dir)))
    attempt(out, "pyarrow:dataset", lambda: from_arrow(ds.dataset(run_dir, format="parquet").to_table()))
    hive_ds = lambda: ds.dataset(table_dir, format="parquet", partitioning="hive")
    attempt(out, "pyarrow:hive", lambda: from_arrow(hive_ds().to_table(filter=ds.field("run") == hive_run)))
    attempt(out, "pyarrow:hive:counts", lambda: counts_of(hive_ds().to_table(columns=["run"]).column("run").to_pylist()))

    # Type variants: one run folder each, read by every reader (glob / folder).
    type_dir = os.path.join(spec.get("typeDest", dest), table)
    for name, run_key in spec.get("typeRuns", {}).items():
        d = os.path.join(type_dir, f"run={run_key}")
        attempt(out, f"duckdb:{name}", lambda: from_duckdb(duckdb.sql(f"SELECT * FROM read_parquet('{d}/*.parquet')")))
        attempt(out, f"polars:{name}", lambda: from_polars(pl.read_parquet(f"{d}/*.parquet")))
        attempt(out, f"pyarrow:{name}", lambda: from_arrow(pq.read_table(d)))

    if spec.get("spark"):
        from pyspark.sql import SparkSession

        spark = (
            SparkSession.builder.master("local[1]")
            .appName("pg-parquet-readers")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.driver.memory", "512m")
            .config("spark.sql.shuffle.partitions", "1")
            # Our files are proleptic Gregorian, like every writer but Spark 2: say so, or Spark 3.5
            # refuses dates before 1582-10-15 and timestamps before 1900 (the README says the same).
            .config("spark.sql.parquet.datetimeRebaseModeInRead", "CORRECTED")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")

        def from_spark(df):
            columns = df.columns
            rows = [[cell(r[c]) for c in columns] for r in df.collect()]
            rows.sort(key=lambda r: int(r[columns.index("id")]))
            return {"columns": columns, "rows": rows, "types": {f.name: f.dataType.simpleString() for f in df.schema.fields}}

        attempt(out, "spark:folder", lambda: from_spark(spark.read.parquet(run_dir)))
        attempt(out, "spark:hive", lambda: from_spark(spark.read.parquet(table_dir).where(f"run = '{hive_run}'")))
        attempt(out, "spark:hive:counts", lambda: {r[0]: r[1] for r in spark.read.parquet(table_dir).groupBy("run").count().collect()})
        attempt(
            out,
            "spark:basePath",
            lambda: from_spark(spark.read.option("basePath", table_dir).parquet(os.path.join(table_dir, f"run={hive_run}"))),
        )
        for name, run_key in spec.get("typeRuns", {}).items():
            d = os.path.join(type_dir, f"run={run_key}")
            attempt(out, f"spark:{name}", lambda: from_spark(spark.read.parquet(d)))
        spark.stop()

    with open(spec["out"], "w") as f:
        json.dump(out, f)


def counts_of(values):
    counts = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return counts


if __name__ == "__main__":
    main()
