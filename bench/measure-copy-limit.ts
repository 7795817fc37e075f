/** The physical limit: PostgreSQL emitting the table through binary COPY (limit_copy.sh). */
import { join } from 'node:path';
import { eventsTable, psqlEnv, type BenchTable } from './bench-tables.js';
import { numberField, runJsonChild } from './child-process.js';
import { SHARED_BENCH } from './paths.js';
import type { Sample } from './samples.js';

/** Runs `limit_copy.sh` over `parts` id ranges read at once. */
export async function measureCopyLimit(databaseUrl: string, t: BenchTable, parts: number): Promise<Sample> {
  const { json } = await runJsonChild(
    'bash',
    [join(SHARED_BENCH, 'limit_copy.sh'), '', eventsTable(t), 'id', String(parts)],
    { env: psqlEnv(databaseUrl, t.schema) },
  );
  return {
    seconds: numberField(json, 'seconds'),
    rows: numberField(json, 'rows'),
    copyBytes: numberField(json, 'bytes'),
  };
}
