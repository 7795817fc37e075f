/**
 * The Parquet writer, checked with an independent reader (hyparquet): values, logical types,
 * codec, determinism, empty files, and the streaming writer's failure handling.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Binary,
  DateDay,
  Decimal,
  Field,
  Float64,
  Int32,
  Int64,
  List,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMicrosecond,
  Utf8,
  vectorFromArray,
  type Data,
  type DataType,
} from 'apache-arrow';
import { parquetMetadata, parquetReadObjects, type FileMetaData, type SchemaElement } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import {
  createParquetStream,
  SchemaMismatchError,
  writeParquetFile,
  type ParquetWriteOptions,
} from '../../src/parquet/writer.js';
import {
  parquetRowCount,
  readParquetMetadata,
  readParquetMetadataFromBlob,
} from '../../src/parquet/footer.js';
import { noDictionaryColumns } from '../../src/parquet/column-encoding.js';
import type { ColumnSpec } from '../../src/arrow/column-spec.js';

const OPTS: ParquetWriteOptions = { compression: 'zstd', rowGroupRows: 1_000_000 };

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DEC_MAX = 10n ** 38n - 1n; // the largest unscaled value of precision 38

/** LSB-first validity bitmap (1 = valid). */
function bitmap(valid: readonly boolean[]): Uint8Array {
  const out = new Uint8Array(Math.ceil(valid.length / 8));
  valid.forEach((v, i) => {
    if (v) out[i >> 3]! |= 1 << (i & 7);
  });
  return out;
}

/** Decimal128 values as four little-endian 32-bit words each (two's complement). */
function decimalWords(values: readonly bigint[]): Uint32Array {
  const out = new Uint32Array(values.length * 4);
  values.forEach((v, i) => {
    let u = BigInt.asUintN(128, v);
    for (let w = 0; w < 4; w++) {
      out[i * 4 + w] = Number(u & 0xffffffffn);
      u >>= 32n;
    }
  });
  return out;
}

const schema = new Schema([
  new Field('id', new Int64(), false),
  new Field('f', new Float64(), true),
  new Field('s', new Utf8(), true),
  new Field('d', new Decimal(10, 38, 128), true),
  new Field('ts', new TimestampMicrosecond('UTC'), true),
  new Field('day', new DateDay(), true),
  new Field('bin', new Binary(), true),
  new Field('arr', new List(new Field('item', new Int32(), true)), true),
]);

interface Row {
  id: bigint;
  f: number | null;
  s: string | null;
  d: bigint | null; // unscaled
  ts: bigint | null; // µs since the epoch
  day: number | null;
  bin: Uint8Array | null;
  arr: (number | null)[] | null;
}

const ROWS: Row[] = [
  {
    id: INT64_MIN,
    f: Number.NaN,
    s: 'a',
    d: DEC_MAX,
    ts: 1_700_000_000_123_456n,
    day: 19_000,
    bin: Uint8Array.of(0, 255),
    arr: [1, null, 3],
  },
  { id: INT64_MAX, f: -0.5, s: null, d: -DEC_MAX, ts: -1n, day: -1, bin: null, arr: null },
  { id: 0n, f: null, s: 'ünïcødé ✓', d: 1n, ts: null, day: null, bin: new Uint8Array(0), arr: [] },
  { id: -1n, f: Infinity, s: '', d: null, ts: 0n, day: 0, bin: Uint8Array.of(7), arr: [null] },
  {
    id: 42n,
    f: 1e-300,
    s: 'x'.repeat(1000),
    d: -12_345_678_901_234_567_890n,
    ts: 253_402_300_799_999_999n,
    day: 2_932_896,
    bin: Uint8Array.of(1, 2, 3),
    arr: [2_147_483_647, -2_147_483_648],
  },
];

function buildBatch(rows: readonly Row[]): RecordBatch {
  const n = rows.length;
  const col = <T>(pick: (r: Row) => T | null) => rows.map(pick);
  const valid = <T>(values: readonly (T | null)[]) => bitmap(values.map((v) => v !== null));

  const ds = col((r) => r.d);
  const tss = col((r) => r.ts);
  const days = col((r) => r.day);
  const arrs = col((r) => r.arr);
  const offsets = new Int32Array(n + 1);
  const items: (number | null)[] = [];
  arrs.forEach((a, i) => {
    items.push(...(a ?? []));
    offsets[i + 1] = items.length;
  });
  const [, fType, sType, dType, tsType, dayType, binType, arrType] = schema.fields.map(
    (f) => f.type as DataType,
  );
  const children: Data[] = [
    vectorFromArray(
      col((r) => r.id),
      new Int64(),
    ).data[0]!,
    vectorFromArray(
      col((r) => r.f),
      fType as Float64,
    ).data[0]!,
    vectorFromArray(
      col((r) => r.s),
      sType as Utf8,
    ).data[0]!,
    makeData({
      type: dType as Decimal,
      length: n,
      nullBitmap: valid(ds),
      data: decimalWords(ds.map((v) => v ?? 0n)),
    }),
    makeData({
      type: tsType as TimestampMicrosecond,
      length: n,
      nullBitmap: valid(tss),
      data: BigInt64Array.from(tss.map((v) => v ?? 0n)),
    }),
    makeData({
      type: dayType as DateDay,
      length: n,
      nullBitmap: valid(days),
      data: Int32Array.from(days.map((v) => v ?? 0)),
    }),
    vectorFromArray(
      col((r) => r.bin),
      binType as Binary,
    ).data[0]!,
    makeData({
      type: arrType as List<Int32>,
      length: n,
      nullBitmap: valid(arrs),
      valueOffsets: offsets,
      child: makeData({
        type: new Int32(),
        length: items.length,
        nullBitmap: valid(items),
        data: Int32Array.from(items.map((v) => v ?? 0)),
      }),
    }),
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, children }));
}

function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function element(meta: FileMetaData, name: string): SchemaElement {
  const el = meta.schema.find((e) => e.name === name);
  assert.ok(el, `schema element ${name}`);
  return el;
}

/** Big-endian two's complement bytes → bigint. */
function beToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return BigInt.asIntN(bytes.length * 8, v);
}

/** Reads every row with hyparquet, keeping exact values (µs timestamps, raw days, unscaled decimals). */
async function readWithHyparquet(bytes: Uint8Array): Promise<Record<string, unknown>[]> {
  const file = arrayBufferOf(bytes);
  const meta = parquetMetadata(file);
  // hyparquet turns decimals into JS numbers (lossy for 38 digits): read the raw bytes instead.
  const raw = structuredClone(meta);
  for (const el of raw.schema) {
    if (el.logical_type?.type === 'DECIMAL') {
      delete el.logical_type;
      delete el.converted_type;
    }
  }
  const rows = await parquetReadObjects({
    file,
    metadata: raw,
    compressors,
    utf8: false,
    parsers: { timestampFromMicroseconds: (v: bigint) => v, dateFromDays: (d: number) => d },
  });
  return rows.map((r) => ({ ...r, d: r.d == null ? null : beToBigInt(r.d as Uint8Array) }));
}

test('values survive a round trip through an independent reader', async () => {
  const bytes = writeParquetFile([buildBatch(ROWS.slice(0, 2)), buildBatch(ROWS.slice(2))], schema, OPTS);
  const rows = await readWithHyparquet(bytes);
  assert.equal(rows.length, ROWS.length);
  ROWS.forEach((want, i) => {
    const got = rows[i]!;
    assert.equal(got.id, want.id, `id row ${i}`);
    if (want.f !== null && Number.isNaN(want.f)) assert.ok(Number.isNaN(got.f), `NaN row ${i}`);
    else assert.equal(got.f ?? null, want.f, `f row ${i}`);
    assert.equal(got.s ?? null, want.s, `s row ${i}`);
    assert.equal(got.d ?? null, want.d, `d row ${i}`);
    assert.equal(got.ts ?? null, want.ts, `ts row ${i}`);
    assert.equal(got.day ?? null, want.day, `day row ${i}`);
    assert.deepEqual(
      got.bin == null ? null : new Uint8Array(got.bin as Uint8Array),
      want.bin,
      `bin row ${i}`,
    );
    assert.deepEqual(
      got.arr == null ? null : (got.arr as unknown[]).map((v) => v ?? null),
      want.arr,
      `arr row ${i}`,
    );
  });
});

test('Parquet logical types and the ZSTD codec', () => {
  const meta = parquetMetadata(arrayBufferOf(writeParquetFile([buildBatch(ROWS)], schema, OPTS)));
  assert.equal(meta.num_rows, BigInt(ROWS.length));

  const id = element(meta, 'id');
  assert.equal(id.type, 'INT64');
  assert.equal(id.repetition_type, 'REQUIRED');
  assert.equal(element(meta, 'f').type, 'DOUBLE');
  const s = element(meta, 's');
  assert.equal(s.type, 'BYTE_ARRAY');
  assert.deepEqual(s.logical_type, { type: 'STRING' });
  assert.equal(s.repetition_type, 'OPTIONAL');
  const d = element(meta, 'd');
  assert.equal(d.type, 'FIXED_LEN_BYTE_ARRAY');
  assert.deepEqual(d.logical_type, { type: 'DECIMAL', precision: 38, scale: 10 });
  const ts = element(meta, 'ts');
  assert.equal(ts.type, 'INT64');
  assert.deepEqual(ts.logical_type, { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' });
  const day = element(meta, 'day');
  assert.equal(day.type, 'INT32');
  assert.deepEqual(day.logical_type, { type: 'DATE' });
  const bin = element(meta, 'bin');
  assert.equal(bin.type, 'BYTE_ARRAY');
  assert.equal(bin.logical_type, undefined);
  assert.deepEqual(element(meta, 'arr').logical_type, { type: 'LIST' });
  const item = element(meta, 'item');
  assert.equal(item.type, 'INT32');
  assert.equal(item.repetition_type, 'OPTIONAL');

  const codecs = meta.row_groups.flatMap((rg) => rg.columns.map((c) => c.meta_data?.codec));
  assert.equal(codecs.length, 8);
  assert.ok(
    codecs.every((c) => c === 'ZSTD'),
    `codecs: ${codecs.join(',')}`,
  );
});

test('every write is compressed (properties are never reused) and byte-identical', () => {
  const a = writeParquetFile([buildBatch(ROWS)], schema, OPTS);
  const b = writeParquetFile([buildBatch(ROWS)], schema, OPTS);
  assert.equal(Buffer.compare(a, b), 0, 'two writes of the same data differ');
  const meta = parquetMetadata(arrayBufferOf(b));
  assert.ok(meta.row_groups[0]!.columns.every((c) => c.meta_data?.codec === 'ZSTD'));
  const snappy = parquetMetadata(
    arrayBufferOf(writeParquetFile([buildBatch(ROWS)], schema, { ...OPTS, compression: 'snappy' })),
  );
  assert.ok(snappy.row_groups[0]!.columns.every((c) => c.meta_data?.codec === 'SNAPPY'));
});

test('noDictionary and dataPageVersion reach the file; values read back the same', async () => {
  const encodings = (bytes: Uint8Array) =>
    new Map(
      parquetMetadata(arrayBufferOf(bytes)).row_groups[0]!.columns.map((c) => [
        c.meta_data!.path_in_schema.join('.'),
        {
          dictionary: c.meta_data!.encodings.some((e) => e.includes('DICTIONARY')),
          pages: (c.meta_data!.encoding_stats ?? []).map((p) => p.page_type),
        },
      ]),
    );
  const plain = encodings(writeParquetFile([buildBatch(ROWS)], schema, OPTS));
  assert.equal(plain.get('id')!.dictionary, true, 'dictionary encoding is on by default');
  const opts: ParquetWriteOptions = { ...OPTS, noDictionary: ['id', 'ts'], dataPageVersion: 2 };
  const bytes = writeParquetFile([buildBatch(ROWS)], schema, opts);
  const tuned = encodings(bytes);
  assert.equal(tuned.get('id')!.dictionary, false);
  assert.equal(tuned.get('ts')!.dictionary, false);
  assert.equal(tuned.get('s')!.dictionary, true, 'other columns keep their dictionary');
  assert.ok(tuned.get('id')!.pages.includes('DATA_PAGE_V2'), `pages: ${tuned.get('id')!.pages.join(',')}`);
  assert.ok(plain.get('id')!.pages.includes('DATA_PAGE'));
  const read = async (b: Uint8Array) => parquetReadObjects({ file: arrayBufferOf(b), compressors });
  assert.deepEqual(await read(bytes), await read(writeParquetFile([buildBatch(ROWS)], schema, OPTS)));
});

test('noDictionaryColumns: high-cardinality kinds and a unique cursor', () => {
  const spec = (name: string, kind: ColumnSpec['kind']): ColumnSpec => ({
    name,
    kind,
    pgType: kind,
    arrowType: '',
    selectExpr: name,
    nullable: true,
  });
  const cols = [
    spec('id', 'int8'),
    spec('tenant', 'int4'),
    spec('name', 'text'),
    spec('uid', 'uuid'),
    spec('doc', 'jsonb'),
    spec('at', 'timestamptz'),
    spec('amount', 'numeric-decimal'),
    spec('day', 'date'),
  ];
  assert.deepEqual(noDictionaryColumns(cols, 'id'), ['id', 'uid', 'doc', 'at', 'amount']);
  assert.deepEqual(noDictionaryColumns(cols, null), ['uid', 'doc', 'at', 'amount']);
});

test('a Table input and a zero-row file', async () => {
  const table = new Table([buildBatch(ROWS)]);
  assert.equal(
    Buffer.compare(writeParquetFile(table, schema, OPTS), writeParquetFile([buildBatch(ROWS)], schema, OPTS)),
    0,
  );

  for (const empty of [
    writeParquetFile([], schema, OPTS),
    writeParquetFile([buildBatch([])], schema, OPTS),
  ]) {
    const meta = parquetMetadata(arrayBufferOf(empty));
    assert.equal(meta.num_rows, 0n);
    assert.deepEqual(await readWithHyparquet(empty), []);
    assert.ok(element(meta, 'd').logical_type?.type === 'DECIMAL');
    const info = readParquetMetadata(empty);
    assert.equal(info.rows, 0);
    assert.equal(info.rowGroups, 0);
    assert.deepEqual(
      info.schema.fields.map((f) => f.name),
      schema.fields.map((f) => f.name),
    );
  }
});

test('a batch with another schema is refused', () => {
  const other = new Schema([new Field('id', new Int64(), true)]); // nullable differs
  const batch = new RecordBatch(
    other,
    makeData({
      type: new Struct(other.fields),
      length: 0,
      children: [makeData({ type: new Int64(), length: 0 })],
    }),
  );
  assert.throws(() => writeParquetFile([batch], schema, OPTS), SchemaMismatchError);
  assert.throws(
    () => writeParquetFile([], schema, { compression: 'lzo' as 'zstd', rowGroupRows: 1 }),
    /compression/,
  );
  assert.throws(() => writeParquetFile([], schema, { compression: 'zstd', rowGroupRows: 0 }), /rowGroupRows/);
});

test('readParquetMetadata agrees with hyparquet and with parquet-wasm', async () => {
  const bytes = writeParquetFile([buildBatch(ROWS), buildBatch(ROWS)], schema, {
    compression: 'zstd',
    rowGroupRows: 3,
    metadata: { 'pg_parquet.table': 'public.events', 'pg_parquet.run': 'r1' },
  });
  const info = readParquetMetadata(bytes);
  assert.equal(info.rows, 10);
  assert.deepEqual(info.rowGroupRows, [3, 3, 3, 1]);
  assert.equal(info.rowGroups, 4);
  assert.deepEqual(info.codecs, ['ZSTD']);
  assert.match(info.createdBy ?? '', /^parquet-rs version /);
  assert.deepEqual(info.keyValueMetadata, { 'pg_parquet.run': 'r1', 'pg_parquet.table': 'public.events' });
  assert.equal(info.schema.fields.length, schema.fields.length);
  info.schema.fields.forEach((f, i) => assert.equal(String(f.type), String(schema.fields[i]!.type)));

  const hy = parquetMetadata(arrayBufferOf(bytes));
  assert.equal(BigInt(info.rows), hy.num_rows);
  assert.equal(BigInt(parquetRowCount(bytes)), hy.num_rows);
  assert.deepEqual(
    info.rowGroupRows.map(BigInt),
    hy.row_groups.map((rg) => rg.num_rows),
  );

  const viaWasm = await readParquetMetadataFromBlob(new Blob([bytes]));
  assert.equal(viaWasm.rows, info.rows);
  assert.deepEqual(viaWasm.rowGroupRows, info.rowGroupRows);
  assert.deepEqual(viaWasm.codecs, info.codecs);
  assert.deepEqual(viaWasm.keyValueMetadata, info.keyValueMetadata);

  assert.throws(() => readParquetMetadata(bytes.subarray(0, bytes.length - 1)), /not a Parquet file/);
  assert.throws(() => readParquetMetadata(new Uint8Array(3)), /not a Parquet file/);
});

// ---------------------------------------------------------------------------------------------
// Streaming writer

async function* batchesOf(
  count: number,
  rowsPerBatch: number,
  onPull?: (i: number) => void,
): AsyncGenerator<RecordBatch> {
  for (let i = 0; i < count; i++) {
    await new Promise((resolve) => setImmediate(resolve)); // a producer that does I/O
    onPull?.(i);
    const rows = Array.from({ length: rowsPerBatch }, (_, k) => ({
      ...ROWS[k % ROWS.length]!,
      id: BigInt(i * rowsPerBatch + k),
    }));
    yield buildBatch(rows);
  }
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

test('streaming writer: rows, row groups and values', async () => {
  const stream = createParquetStream(schema, batchesOf(7, 300), { compression: 'zstd', rowGroupRows: 1000 });
  const bytes = await collect(stream.chunks);
  assert.equal(stream.rowsWritten(), 2100);
  assert.equal(stream.bytesWritten(), bytes.byteLength);
  const info = readParquetMetadata(bytes);
  assert.equal(info.rows, 2100);
  assert.deepEqual(info.rowGroupRows, [1000, 1000, 100]);
  assert.deepEqual(info.codecs, ['ZSTD']);
  const rows = await readWithHyparquet(bytes);
  assert.deepEqual(
    rows.map((r) => r.id),
    Array.from({ length: 2100 }, (_, i) => BigInt(i)),
  );
  assert.equal(rows[5]!.d, DEC_MAX);
  await assert.rejects(collect(stream.chunks), /only once/);
});

test('streaming writer: a producer error is thrown, and no footer is ever yielded', async () => {
  const boom = new Error('source connection lost');
  async function* failing(): AsyncGenerator<RecordBatch> {
    yield* batchesOf(6, 500);
    // Let the consumer take the row groups flushed so far, so that the failure comes mid-file.
    await new Promise((resolve) => setTimeout(resolve, 50));
    throw boom;
  }
  const parts: Uint8Array[] = [];
  await assert.rejects(
    (async () => {
      for await (const c of createParquetStream(schema, failing(), {
        compression: 'zstd',
        rowGroupRows: 600,
      }))
        parts.push(c);
    })(),
    (err) => err === boom,
  );
  // Row groups were flushed before the error, but what was yielded is not a readable file:
  // parquet-wasm wrote a footer after the failed input, and it was held back.
  assert.ok(parts.length > 0, 'expected row groups before the error');
  assert.throws(() => readParquetMetadata(Buffer.concat(parts)), /not a Parquet file/);
});

test('streaming writer: a batch with another schema throws and releases the producer', async () => {
  const other = new Schema([new Field('x', new Int32(), true)]);
  let released = false;
  async function* mixed(): AsyncGenerator<RecordBatch> {
    try {
      yield* batchesOf(2, 10);
      yield new RecordBatch(
        other,
        makeData({
          type: new Struct(other.fields),
          length: 1,
          children: [vectorFromArray([1], new Int32()).data[0]!],
        }),
      );
      yield* batchesOf(2, 10);
    } finally {
      released = true;
    }
  }
  await assert.rejects(collect(createParquetStream(schema, mixed(), OPTS)), SchemaMismatchError);
  assert.ok(released, 'the producer was not released');
});

test('streaming writer: empty input gives a zero-row file', async () => {
  async function* none(): AsyncGenerator<RecordBatch> {}
  const stream = createParquetStream(schema, none(), OPTS);
  const bytes = await collect(stream);
  assert.equal(stream.rowsWritten(), 0);
  assert.equal(readParquetMetadata(bytes).rows, 0);
  assert.equal(parquetMetadata(arrayBufferOf(bytes)).num_rows, 0n);
  // Only zero-row batches count as empty too.
  assert.equal(
    readParquetMetadata(await collect(createParquetStream(schema, batchesOf(3, 0), OPTS))).rows,
    0,
  );
});

test('streaming writer: a consumer that stops early does not drain the producer', async () => {
  let pulled = 0;
  let released = false;
  async function* many(): AsyncGenerator<RecordBatch> {
    try {
      yield* batchesOf(1000, 200, () => pulled++);
    } finally {
      released = true;
    }
  }
  for await (const chunk of createParquetStream(schema, many(), { compression: 'zstd', rowGroupRows: 400 })) {
    assert.ok(chunk.byteLength > 0);
    break;
  }
  assert.ok(pulled < 20, `pulled ${pulled} batches after the consumer stopped`);
  assert.ok(released, 'the producer was not released');
});
