/** The physical limit: PostgreSQL emitting the table through binary COPY (limit_copy.sh). */
import { join } from 'node:path';
import { eventsTable, psqlEnv, type BenchTable } from './bench-tables.js';
import { numberField, processFields, runJsonChild } from './child-process.js';
import { SHARED_BENCH } from './paths.js';
import type { Sample } from './samples.js';

/** Runs `limit_copy.sh` over `parts` id ranges read at once (CPU: psql, wc and the script). */
export async function measureCopyLimit(databaseUrl: string, t: BenchTable, parts: number): Promise<Sample> {
  const r = await runJsonChild(
    'bash',
    [join(SHARED_BENCH, 'limit_copy.sh'), '', eventsTable(t), 'id', String(parts)],
    { env: psqlEnv(databaseUrl, t.schema) },
  );
  const { wallSeconds, cpuSeconds, usage } = processFields(r);
  return {
    seconds: numberField(r.json, 'seconds'),
    wallSeconds,
    // bash, psql × parts and wc: the client side of COPY.
    cpuSeconds,
    rows: numberField(r.json, 'rows'),
    copyBytes: numberField(r.json, 'bytes'),
    details: usage,
  };
}
