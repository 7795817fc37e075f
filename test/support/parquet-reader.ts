/**
 * The independent Parquet reader of the tests: DuckDB (its own C++ Parquet implementation),
 * never parquet-wasm, which is the writer under test.
 */
import { DuckDBInstance } from '@duckdb/node-api';

/** Runs a query over Parquet files with DuckDB; `$files` in the SQL becomes the file list. */
export async function queryParquet(
  files: readonly string[],
  sql: string,
): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const list = `[${files.map((f) => `'${f.replace(/'/g, "''")}'`).join(', ')}]`;
    const reader = await conn.runAndReadAll(sql.replaceAll('$files', list));
    return reader.getRowObjectsJS();
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** The Parquet schema of a file as DuckDB reads it: column name → logical/converted type text. */
export async function parquetSchema(file: string): Promise<Map<string, { type: string; logical: string }>> {
  const rows = await queryParquet(
    [file],
    `SELECT name, type, coalesce(logical_type, converted_type, '') AS logical FROM parquet_schema(${`'${file.replace(/'/g, "''")}'`})`,
  );
  return new Map(rows.map((r) => [String(r.name), { type: String(r.type), logical: String(r.logical) }]));
}
