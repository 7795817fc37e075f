/**
 * Concatenating Parquet files by copying row groups: the result reads back, in three independent
 * readers, as the inputs one after another, and its page indexes point at the moved pages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  Field,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  TimestampMicrosecond,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { parquetMetadata, parquetReadObjects, readOffsetIndex, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { concatParquet } from '../../src/parquet/concat.js';
import { readParquetMetadata } from '../../src/parquet/footer.js';
import { SchemaMismatchError, writeParquetFile, type ParquetWriteOptions } from '../../src/parquet/writer.js';
import { readParquetBatches } from '../../src/parquet/reader.js';
import { queryParquet } from '../support/parquet-reader.js';

const schema = new Schema([
  new Field('id', new Int64(), false),
  new Field('label', new Utf8(), true),
  new Field('at', new TimestampMicrosecond('UTC'), true),
]);

function batch(start: number, rows: number): RecordBatch {
  const labels = Array.from({ length: rows }, (_, i) =>
    (start + i) % 7 === 0 ? null : `label ${(start + i) % 13}`,
  );
  const children = [
    makeData({ type: new Int64(), data: BigInt64Array.from({ length: rows }, (_, i) => BigInt(start + i)) }),
    vectorFromArray(labels, new Utf8()).data[0]!,
    makeData({
      type: new TimestampMicrosecond('UTC'),
      data: BigInt64Array.from({ length: rows }, (_, i) => BigInt(start + i) * 1_000_000n),
    }),
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows, children }));
}

/** Three files as extraction writes them: one batch each, with per-batch metadata. */
function inputs(opts: Partial<ParquetWriteOptions> = {}): Uint8Array[] {
  return [
    [0, 5000],
    [5000, 1],
    [5001, 20000],
  ].map(([start, rows], i) =>
    writeParquetFile([batch(start!, rows!)], schema, {
      compression: 'zstd',
      rowGroupRows: 8192,
      metadata: { 'pg_parquet.batch': `{"n":${i}}` },
      ...opts,
    }),
  );
}

/** The bytes as a standalone ArrayBuffer (what hyparquet reads). */
function arrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer;
}

async function collect(chunks: Iterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (const c of chunks) parts.push(c.slice());
  return new Uint8Array(Buffer.concat(parts));
}

const rowsOf = async (bytes: Uint8Array) =>
  parquetReadObjects({
    file: arrayBuffer(bytes),
    compressors,
  });

test('the concatenation holds every input row in order, in every reader', async () => {
  const files = inputs();
  const merged = await collect(concatParquet(files, { dropKeys: ['pg_parquet.batch'] }));
  const info = readParquetMetadata(merged);
  assert.equal(info.rows, 25001);
  // 5000 → 1 row group, 1 → 1, 20000 at 8192 per group → 3.
  assert.equal(info.rowGroups, 5);
  assert.equal(info.keyValueMetadata['pg_parquet.batch'], undefined);

  // hyparquet (JavaScript): the same rows as the inputs read one after another.
  const expected = (await Promise.all(files.map(rowsOf))).flat();
  assert.deepEqual(await rowsOf(merged), expected);

  // parquet-wasm (arrow-rs) reads it back under the Arrow schema, timestamp zone included.
  const batches = readParquetBatches(merged, schema);
  assert.equal(
    batches.reduce((s, b) => s + b.numRows, 0),
    25001,
  );

  // DuckDB (C++), a third reader.
  const dir = await mkdtemp(path.join(tmpdir(), 'pgpq-concat-'));
  try {
    const file = path.join(dir, 'merged.parquet');
    await writeFile(file, merged);
    const [r] = await queryParquet(
      [file],
      `SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS ids, sum(id)::INT AS s, count(label)::INT AS labels,
              max(epoch_us("at"))::DOUBLE AS at FROM read_parquet($files)`,
    );
    assert.deepEqual(r, {
      n: 25001,
      ids: 25001,
      s: (25000 * 25001) / 2,
      labels: 25001 - Math.ceil(25001 / 7),
      at: 25000 * 1_000_000,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('page indexes are moved behind the row groups and point at the moved pages', async () => {
  const files = inputs();
  const merged = await collect(concatParquet(files, { dropKeys: ['pg_parquet.batch'] }));
  const meta: FileMetaData = parquetMetadata(arrayBuffer(merged));
  const offsetIndexOf = (bytes: Uint8Array, offset: bigint) =>
    readOffsetIndex({
      view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      offset: Number(offset),
    });
  let group = 0;
  let delta = 0;
  let sawIndex = false;
  for (const file of files) {
    const own = parquetMetadata(arrayBuffer(file));
    for (const g of own.row_groups) {
      const moved = meta.row_groups[group++]!;
      g.columns.forEach((c, j) => {
        const m = moved.columns[j]!;
        const md = c.meta_data!;
        assert.equal(Number(m.meta_data!.data_page_offset), Number(md.data_page_offset) + delta);
        if (c.offset_index_offset === undefined) return;
        sawIndex = true;
        const before = offsetIndexOf(file, c.offset_index_offset).page_locations;
        const after = offsetIndexOf(merged, m.offset_index_offset!).page_locations;
        assert.deepEqual(
          after.map((p) => [Number(p.offset) - delta, p.compressed_page_size, Number(p.first_row_index)]),
          before.map((p) => [Number(p.offset), p.compressed_page_size, Number(p.first_row_index)]),
        );
        // The page bytes themselves are where the index says.
        const p = after[0]!;
        const q = before[0]!;
        assert.deepEqual(
          merged.subarray(Number(p.offset), Number(p.offset) + p.compressed_page_size),
          file.subarray(Number(q.offset), Number(q.offset) + q.compressed_page_size),
        );
        if (c.column_index_offset !== undefined) {
          const len = c.column_index_length!;
          assert.deepEqual(
            merged.subarray(Number(m.column_index_offset), Number(m.column_index_offset) + len),
            file.subarray(Number(c.column_index_offset), Number(c.column_index_offset) + len),
          );
        }
      });
    }
    // The next file's row groups start where this one's ended.
    const firstIndex = Math.min(
      ...own.row_groups
        .flatMap((g) => g.columns.flatMap((c) => [c.offset_index_offset, c.column_index_offset]))
        .filter((x): x is bigint => x !== undefined)
        .map(Number),
      file.length - 8 - new DataView(file.buffer, file.byteOffset).getUint32(file.length - 8, true),
    );
    delta += firstIndex - 4;
  }
  assert.equal(group, meta.row_groups.length);
  assert.ok(sawIndex, 'the writer wrote page indexes, so the test checked their move');
});

test('the same inputs give the same bytes; another schema is refused', async () => {
  const a = await collect(concatParquet(inputs(), { dropKeys: ['pg_parquet.batch'] }));
  const b = await collect(concatParquet(inputs(), { dropKeys: ['pg_parquet.batch'] }));
  assert.deepEqual(a, b);
  const x = new Schema([new Field('x', new Int64(), false)]);
  const one = makeData({ type: new Int64(), data: BigInt64Array.from([1n]) });
  const other = writeParquetFile(
    [new RecordBatch(x, makeData({ type: new Struct(x.fields), length: 1, children: [one] }))],
    x,
    { compression: 'zstd', rowGroupRows: 10 },
  );
  assert.throws(
    () => concatParquet([...inputs(), other], { dropKeys: ['pg_parquet.batch'] }),
    SchemaMismatchError,
  );
});
