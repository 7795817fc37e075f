/** Reading Parquet back into Arrow JS batches (compaction input). */
import { RecordBatch, tableFromIPC, type Schema } from 'apache-arrow';
import { parquetWasm } from './parquet-wasm.js';

/**
 * Decodes a whole Parquet file held in memory into Arrow batches with the given schema. Used on
 * raw batch files, whose size is bounded by `batch.rows` / `batch.bytes`.
 */
export function readParquetBatches(bytes: Uint8Array, schema: Schema): RecordBatch[] {
  const table = tableFromIPC(parquetWasm().readParquet(bytes).intoIPCStream());
  // Rebind to the file schema object so that schema checks downstream compare like with like.
  return table.batches.map((b) => new RecordBatch(schema, b.data));
}
