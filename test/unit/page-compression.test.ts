/**
 * Compressing the pages of an UNCOMPRESSED file with native ZSTD: the result reads back as the
 * same rows in independent readers (hyparquet, DuckDB), every column chunk says ZSTD, and the
 * offset index points at the compressed pages; V1 and V2 data pages, dictionaries, NULLs, lists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  Bool,
  Field,
  Int32,
  Int64,
  List,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { parquetMetadata, parquetReadObjects, readOffsetIndex } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { nativeZstd } from '../../src/parquet/native-zstd.js';
import { CODEC_ID, compressPages } from '../../src/parquet/page-compression.js';
import { ParquetFormatError } from '../../src/parquet/format-error.js';
import { readThriftStruct, intField } from '../../src/parquet/thrift-compact.js';
import { encodeParquetIpc } from '../../src/parquet/encode-ipc.js';
import { toIpcStream, writeParquetFile } from '../../src/parquet/writer.js';
import { queryParquet } from '../support/parquet-reader.js';

const ROWS = 60_000;
const schema = new Schema([
  new Field('id', new Int64(), false),
  new Field('label', new Utf8(), true),
  new Field('flag', new Bool(), true),
  new Field('tags', new List(new Field('item', new Int32(), true)), true),
]);

function batch(): RecordBatch {
  const rows = ROWS;
  const children = [
    makeData({ type: new Int64(), data: BigInt64Array.from({ length: rows }, (_, i) => BigInt(i)) }),
    vectorFromArray(
      Array.from({ length: rows }, (_, i) => (i % 7 === 0 ? null : `label ${i % 13}`)),
      new Utf8(),
    ).data[0]!,
    vectorFromArray(
      Array.from({ length: rows }, (_, i) => (i % 5 === 0 ? null : i % 2 === 0)),
      new Bool(),
    ).data[0]!,
    vectorFromArray(
      Array.from({ length: rows }, (_, i) => (i % 11 === 0 ? null : i % 3 === 0 ? [] : [i, null, i + 1])),
      schema.fields[3]!.type,
    ).data[0]!,
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows, children }));
}

const plainFile = (dataPageVersion: 1 | 2) =>
  writeParquetFile([batch()], schema, {
    compression: 'uncompressed',
    rowGroupRows: 25_000,
    dataPageVersion,
    metadata: { 'pg_parquet.batch': '{"n":0}' },
  });

const rowsOf = (bytes: Uint8Array) => parquetReadObjects({ file: new Uint8Array(bytes).buffer, compressors });

test('native ZSTD is loaded on this platform (else these tests would prove nothing)', () => {
  assert.equal(typeof nativeZstd, 'function');
});

for (const version of [1, 2] as const) {
  test(`V${version} pages: same rows in hyparquet and DuckDB, ZSTD in every chunk, smaller`, async () => {
    const plain = plainFile(version);
    const packed = compressPages(plain, nativeZstd!, CODEC_ID.ZSTD);
    assert.ok(packed.length < plain.length / 2, `${packed.length} bytes from ${plain.length}`);
    assert.deepEqual(await rowsOf(packed), await rowsOf(plain));

    const meta = parquetMetadata(new Uint8Array(packed).buffer);
    assert.equal(meta.row_groups.length, 3);
    for (const g of meta.row_groups) for (const c of g.columns) assert.equal(c.meta_data!.codec, 'ZSTD');
    assert.deepEqual(
      meta.key_value_metadata,
      parquetMetadata(new Uint8Array(plain).buffer).key_value_metadata,
    );

    const dir = await mkdtemp(path.join(tmpdir(), 'pgpq-pages-'));
    try {
      const file = path.join(dir, 'packed.parquet');
      await writeFile(file, packed);
      const [r] = await queryParquet(
        [file],
        `SELECT count(*)::INT AS n, sum(id)::BIGINT AS s, count(label)::INT AS labels,
                count(*) FILTER (WHERE flag)::INT AS flags, sum(len(tags))::INT AS items,
                count(DISTINCT label)::INT AS distinct_labels FROM read_parquet($files)`,
      );
      const expected = Array.from({ length: ROWS }, (_, i) => i);
      assert.deepEqual(r, {
        n: ROWS,
        s: BigInt((ROWS * (ROWS - 1)) / 2),
        labels: expected.filter((i) => i % 7 !== 0).length,
        flags: expected.filter((i) => i % 5 !== 0 && i % 2 === 0).length,
        items: expected.filter((i) => i % 11 !== 0 && i % 3 !== 0).length * 3,
        distinct_labels: 13,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test(`V${version} pages: the offset index points at each compressed page`, () => {
    const plain = plainFile(version);
    const packed = compressPages(plain, nativeZstd!, CODEC_ID.ZSTD);
    const before = parquetMetadata(new Uint8Array(plain).buffer);
    const after = parquetMetadata(new Uint8Array(packed).buffer);
    const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    let pages = 0;
    after.row_groups.forEach((g, i) =>
      g.columns.forEach((c, j) => {
        const old = before.row_groups[i]!.columns[j]!;
        const locations = readOffsetIndex({
          view: view(packed),
          offset: Number(c.offset_index_offset),
        }).page_locations;
        const oldLocations = readOffsetIndex({
          view: view(plain),
          offset: Number(old.offset_index_offset),
        }).page_locations;
        assert.deepEqual(
          locations.map((l) => Number(l.first_row_index)),
          oldLocations.map((l) => Number(l.first_row_index)),
        );
        for (const l of locations) {
          // A page header starts at the location, and header + page fill the location's size.
          const at = Number(l.offset);
          const { struct, length } = readThriftStruct(packed.subarray(at));
          assert.equal(length + Number(intField(struct, 3)), l.compressed_page_size);
          pages++;
        }
      }),
    );
    assert.ok(pages > 12, `${pages} data pages checked`);
  });
}

test('the same file gives the same bytes; an already compressed file is refused', () => {
  const plain = plainFile(1);
  assert.deepEqual(
    compressPages(plain, nativeZstd!, CODEC_ID.ZSTD),
    compressPages(plainFile(1), nativeZstd!, CODEC_ID.ZSTD),
  );
  const zstd = writeParquetFile([batch()], schema, { compression: 'zstd', rowGroupRows: 25_000 });
  assert.throws(() => compressPages(zstd, nativeZstd!, CODEC_ID.ZSTD), ParquetFormatError);
});

test('encoding a batch with zstd goes through the native pages and reads back', async () => {
  const ipc = toIpcStream(schema, [batch()]);
  const encoded = encodeParquetIpc(ipc, { compression: 'zstd', rowGroupRows: 25_000 });
  const meta = parquetMetadata(new Uint8Array(encoded).buffer);
  for (const g of meta.row_groups) for (const c of g.columns) assert.equal(c.meta_data!.codec, 'ZSTD');
  assert.deepEqual(await rowsOf(encoded), await rowsOf(plainFile(1)));
});
