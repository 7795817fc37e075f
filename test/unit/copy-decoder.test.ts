/**
 * The binary COPY decoder and the type map, on streams built by a small encoder here (laid out as
 * PostgreSQL's *_send functions do). Expected values are written in their logical form (ISO
 * dates, decimal text) and converted independently of the decoder. Values round-trip exactly
 * whatever the chunk boundaries; values Parquet cannot hold are refused with a typed error.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordBatch } from 'apache-arrow';
import { DataType, Table, tableFromIPC, tableToIPC, util } from 'apache-arrow';
import type { ColumnSpec, PgColumn } from '../../src/arrow/column-spec.js';
import type { TypeOptions } from '../../src/contract/type-options.js';
import { planColumns } from '../../src/arrow/type-map.js';
import {
  CopyBinaryDecoder,
  CopyFormatError,
  UnsupportedValueError,
  type DecodedBatch,
} from '../../src/postgres/copy-decoder.js';
import { cell } from '../support/arrow-cells.js';

// ---------------------------------------------------------------------------------------------
// Encoder: PostgreSQL's binary send formats.

type Field = Uint8Array | null;

const be = (bytes: number, write: (v: DataView) => void): Uint8Array => {
  const b = new Uint8Array(bytes);
  write(new DataView(b.buffer));
  return b;
};
const int2 = (v: number) => be(2, (d) => d.setInt16(0, v));
const int4 = (v: number) => be(4, (d) => d.setInt32(0, v));
const int8 = (v: bigint) => be(8, (d) => d.setBigInt64(0, v));
const float4 = (v: number) => be(4, (d) => d.setFloat32(0, v));
const float8 = (v: number) => be(8, (d) => d.setFloat64(0, v));
const utf8 = (s: string) => new TextEncoder().encode(s);
const bool = (v: boolean) => new Uint8Array([v ? 1 : 0]);
const jsonb = (s: string) => concat([new Uint8Array([1]), utf8(s)]);
const uuid = (text: string) => Uint8Array.from(Buffer.from(text.replace(/-/g, ''), 'hex'));

const DAY_MS = 86_400_000;
const PG_EPOCH_DAYS = 10957; // 2000-01-01 in days since 1970-01-01
/** Days since 1970-01-01 of an ISO date (proleptic Gregorian; years 1..9999, or 0 for 1 BC). */
function unixDays(iso: string): number {
  const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
  const t = new Date(0);
  t.setUTCFullYear(y, m - 1, d); // unlike Date.UTC, does not map years 0..99 to 1900..1999
  return Math.round(t.getTime() / DAY_MS);
}
/** µs since 1970-01-01 of `YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC). */
function unixMicros(ts: string): bigint {
  const [date, time] = ts.split(' ') as [string, string];
  const [hms, frac = ''] = time.split('.');
  const [h, mi, s] = hms!.split(':').map(Number) as [number, number, number];
  const seconds = BigInt(unixDays(date)) * 86400n + BigInt(h * 3600 + mi * 60 + s);
  return seconds * 1_000_000n + BigInt(frac.padEnd(6, '0'));
}
const date = (iso: string) => int4(unixDays(iso) - PG_EPOCH_DAYS);
const timestamp = (ts: string) => int8(unixMicros(ts) - 946_684_800_000_000n);
const INFINITY_DATE = int4(0x7fffffff);
const MINUS_INFINITY_TS = int8(-(2n ** 63n));

/** numeric from its decimal text, the way numeric_send lays it out (dscale = fraction digits). */
function numeric(value: string): Uint8Array {
  const special = { NaN: 0xc000, Infinity: 0xd000, '-Infinity': 0xf000 }[value];
  if (special !== undefined)
    return concat([int2(0), int2(0), be(2, (d) => d.setUint16(0, special)), int2(0)]);
  const neg = value.startsWith('-');
  const [intPart = '0', frac = ''] = value.replace('-', '').split('.');
  const padInt = intPart.padStart(Math.ceil(intPart.length / 4) * 4, '0');
  const padFrac = frac.padEnd(Math.ceil(frac.length / 4) * 4, '0');
  let groups = [...(padInt.match(/.{4}/g) ?? []), ...(padFrac.match(/.{4}/g) ?? [])].map(Number);
  let weight = padInt.length / 4 - 1;
  while (groups.length > 0 && groups[0] === 0) {
    groups = groups.slice(1);
    weight--;
  }
  while (groups.length > 0 && groups.at(-1) === 0) groups = groups.slice(0, -1);
  if (groups.length === 0) weight = 0;
  return concat([
    int2(groups.length),
    int2(weight),
    be(2, (d) => d.setUint16(0, neg && groups.length > 0 ? 0x4000 : 0)),
    int2(frac.length),
    ...groups.map(int2),
  ]);
}
/** A one-dimensional array (or ndim 0 when empty); `dims` forces a multi-dimensional header. */
function array(elementOid: number, elements: Field[], dims?: number[]): Uint8Array {
  const shape = dims ?? (elements.length === 0 ? [] : [elements.length]);
  const parts = [int4(shape.length), int4(elements.includes(null) ? 1 : 0), int4(elementOid)];
  for (const n of shape) parts.push(int4(n), int4(1));
  for (const e of elements) parts.push(e === null ? int4(-1) : concat([int4(e.length), e]));
  return concat(parts);
}
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
const SIGNATURE = Uint8Array.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]);
function copyStream(rows: Field[][], extension = new Uint8Array(0)): Uint8Array {
  const parts = [SIGNATURE, int4(0), int4(extension.length), extension];
  for (const row of rows) {
    parts.push(int2(row.length));
    for (const f of row) parts.push(f === null ? int4(-1) : concat([int4(f.length), f]));
  }
  parts.push(int2(-1));
  return concat(parts);
}
/** Field bytes of rows (the decoder's `bytes` estimate). */
const fieldBytes = (rows: Field[][]) => rows.flat().reduce((s, f) => s + (f?.length ?? 0), 0);

// ---------------------------------------------------------------------------------------------
// Columns and reading Arrow data back from its raw buffers (not through the decoder).

function pgCol(name: string, typeOid: number, extra: Partial<PgColumn> = {}): PgColumn {
  return { name, pgType: name, typeOid, typmod: -1, typtype: 'b', elementOid: 0, notNull: false, ...extra };
}
const numericTypmod = (p: number, s: number) => ((p << 16) | (s & 0x7ff)) + 4;

/** Every column of the batches as arrays of cells, by column name. */
function columns(batches: readonly RecordBatch[]): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const b of batches) {
    b.schema.fields.forEach((f, c) => {
      const data = b.getChildAt(c)!.data[0]!;
      for (let i = 0; i < b.numRows; i++) (out[f.name] ??= []).push(cell(data, i));
    });
  }
  return out;
}
/** Decimal text → the scaled integer a Decimal128(p, s) holds. */
function scaled(text: string, scale: number): bigint {
  const neg = text.startsWith('-');
  const [i = '0', f = ''] = text.replace('-', '').split('.');
  const v = BigInt(i + f.padEnd(scale, '0').slice(0, scale));
  return neg ? -v : v;
}

interface DecodeOptions {
  chunk?: number;
  batchRows?: number;
  batchBytes?: number;
  cursorColumn?: number;
  typeOptions?: TypeOptions;
}
function decode(specs: readonly ColumnSpec[], stream: Uint8Array, o: DecodeOptions = {}) {
  const dec = new CopyBinaryDecoder(specs, {
    batchRows: o.batchRows ?? 1_000_000,
    batchBytes: o.batchBytes ?? 1 << 30,
    cursorColumn: o.cursorColumn ?? 0,
    typeOptions: o.typeOptions ?? { timestampUnit: 'us' },
    table: 'public.t',
  });
  const out: DecodedBatch[] = [];
  const size = o.chunk ?? stream.length;
  // Copies, so that the decoder cannot rely on a chunk's memory after push() returns.
  for (let i = 0; i < stream.length; i += size) out.push(...dec.push(stream.slice(i, i + size)));
  const last = dec.finish();
  if (last) out.push(last);
  return { batches: out, decoder: dec };
}

// ---------------------------------------------------------------------------------------------
// A table of every decoded kind with NULLs and edge values.

// time columns as Time64: this file feeds the binary time decoder ("string" is a cast by the query).
const US: TypeOptions = { timestampUnit: 'us', timeAs: 'time' };
const MS: TypeOptions = { timestampUnit: 'ms', timeAs: 'time' };
const PG_COLUMNS: PgColumn[] = [
  pgCol('id', 20, { notNull: true }),
  pgCol('i2', 21),
  pgCol('i4', 23),
  pgCol('i8', 20),
  pgCol('f4', 700),
  pgCol('f8', 701),
  pgCol('b', 16),
  pgCol('dec', 1700, { typmod: numericTypmod(38, 9), pgType: 'numeric(38,9)' }),
  pgCol('dec38', 1700, { typmod: numericTypmod(38, 0), pgType: 'numeric(38,0)' }),
  pgCol('money', 1700, { typmod: numericTypmod(12, 2), pgType: 'numeric(12,2)' }),
  pgCol('num', 1700, { pgType: 'numeric' }),
  pgCol('t', 25),
  pgCol('vc', 1043),
  pgCol('by', 17),
  pgCol('u', 2950),
  pgCol('js', 114),
  pgCol('jb', 3802),
  pgCol('d', 1082),
  pgCol('tm', 1083),
  pgCol('ts', 1114),
  pgCol('tstz', 1184),
  pgCol('ia', 1007, { elementOid: 23 }),
  pgCol('ta', 1009, { elementOid: 25 }),
  pgCol('da', 1231, { elementOid: 1700, typmod: numericTypmod(10, 2) }),
];

interface Row {
  id: bigint;
  i2: number | null;
  i4: number | null;
  i8: bigint | null;
  f4: number | null;
  f8: number | null;
  b: boolean | null;
  dec: string | null;
  dec38: string | null;
  money: string | null;
  num: string | null;
  t: string | null;
  vc: string | null;
  by: string | null;
  u: string | null;
  js: string | null;
  jb: string | null;
  d: string | null;
  tm: bigint | null;
  ts: string | null;
  tstz: string | null;
  ia: (number | null)[] | null;
  ta: (string | null)[] | null;
  da: (string | null)[] | null;
}
const F4 = [0, -0, 1.5, NaN, Infinity, -Infinity, 3.4028234663852886e38, 1.401298464324817e-45];
const F8 = [0, -0, 0.1, NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, -1e-300];
const DECS = [
  '0.000000000',
  '-0.000100000',
  '12345678901234567890.123456789',
  '-99999999999999999999.999999999',
  '1.5',
];
const DEC38 = [
  '99999999999999999999999999999999999999',
  '-99999999999999999999999999999999999999',
  '0',
  '10000',
];
const MONEY = ['0.00', '-123.45', '9999999999.99', '0.01', '-0.01'];
const NUMS = [
  '0',
  '1.50',
  '0.0001',
  '-123',
  'NaN',
  'Infinity',
  '-Infinity',
  '12345678901234567890.123456789',
  '-0.00000000000000000001',
  '1' + '0'.repeat(100),
  '100000000.5',
  '0.000',
];
const TEXTS = ['', 'plain', '😀 four-byte UTF-8 𝄞', 'x'.repeat(300), 'quote \' and " and \\ and \t'];
const DATES = [
  '2000-01-01',
  '1970-01-01',
  '1969-12-31',
  '0001-01-01',
  '0000-12-31',
  '1900-02-28',
  '9999-12-31',
];
const TSS = [
  '2000-01-01 00:00:00',
  '1999-12-31 23:59:59.999999',
  '1969-12-31 23:59:59.999999',
  '1970-01-01 00:00:00.000001',
  '0001-01-01 00:00:00',
  '2024-02-29 12:34:56.789012',
  '1969-12-31 23:59:59.9995',
];

function makeRow(i: number): Row {
  const pick = <T>(xs: readonly T[]) => xs[i % xs.length]!;
  const nul = (every: number) => i % every === every - 1;
  return {
    id: BigInt(i) * 1_000_000_007n - 9_000_000_000n,
    i2: nul(7) ? null : pick([0, -32768, 32767, -1, 42]),
    i4: nul(6) ? null : pick([0, -(2 ** 31), 2 ** 31 - 1, -1, 7]),
    i8: nul(5) ? null : pick([0n, -(2n ** 63n), 2n ** 63n - 1n, -1n, 2n ** 32n, -(2n ** 32n) - 1n]),
    f4: nul(8) ? null : pick(F4),
    f8: nul(9) ? null : pick(F8),
    b: nul(3) ? null : i % 5 < 2,
    dec: nul(4) ? null : pick(DECS),
    dec38: nul(5) ? null : pick(DEC38),
    money: nul(6) ? null : pick(MONEY),
    num: nul(13) ? null : pick(NUMS),
    t: nul(4) ? null : pick(TEXTS),
    vc: nul(3) ? null : `vc-${i}`,
    by: nul(5) ? null : pick(['', '00', '00ff0000', 'deadbeef00']),
    u: nul(6) ? null : pick(['00112233-4455-6677-8899-aabbccddeeff', 'ffffffff-ffff-ffff-ffff-ffffffffffff']),
    js: nul(7) ? null : pick(['{"a": [1, 2]}', '[]', '"😀"']),
    jb: nul(4) ? null : pick(['{"k": 1}', '{}', '{"s": "é😀"}']),
    d: nul(8) ? null : pick(DATES),
    tm: nul(9) ? null : pick([0n, 86_399_999_999n, 86_400_000_000n, 43_200_000_001n]),
    ts: nul(5) ? null : pick(TSS),
    tstz: nul(6) ? null : pick(TSS.slice().reverse()),
    ia: nul(11) ? null : pick([[], [1, null, -3], [2 ** 31 - 1], [null]]),
    ta: nul(10) ? null : pick([['a', null, ''], [], ['😀']]),
    da: nul(9) ? null : pick([['1.50', null, '-0.01'], []]),
  };
}

function encodeRow(r: Row): Field[] {
  const opt = <T>(v: T | null, f: (v: T) => Uint8Array): Field => (v === null ? null : f(v));
  return [
    int8(r.id),
    opt(r.i2, int2),
    opt(r.i4, int4),
    opt(r.i8, int8),
    opt(r.f4, float4),
    opt(r.f8, float8),
    opt(r.b, bool),
    opt(r.dec, numeric),
    opt(r.dec38, numeric),
    opt(r.money, numeric),
    opt(r.num, numeric),
    opt(r.t, utf8),
    opt(r.vc, utf8),
    opt(r.by, (h) => Uint8Array.from(Buffer.from(h, 'hex'))),
    opt(r.u, uuid),
    opt(r.js, utf8),
    opt(r.jb, jsonb),
    opt(r.d, date),
    opt(r.tm, int8),
    opt(r.ts, timestamp),
    opt(r.tstz, timestamp),
    opt(r.ia, (a) =>
      array(
        23,
        a.map((v) => (v === null ? null : int4(v))),
      ),
    ),
    opt(r.ta, (a) =>
      array(
        25,
        a.map((v) => (v === null ? null : utf8(v))),
      ),
    ),
    opt(r.da, (a) =>
      array(
        1700,
        a.map((v) => (v === null ? null : numeric(v))),
      ),
    ),
  ];
}

const ROWS = Array.from({ length: 60 }, (_, i) => makeRow(i));
const STREAM = copyStream(ROWS.map(encodeRow));
const SPECS = planColumns(PG_COLUMNS, US);

/** What every column must hold, from the logical values only. */
function expected(unit: 'us' | 'ms'): Record<string, unknown[]> {
  const col = <K extends keyof Row>(k: K, f: (v: NonNullable<Row[K]>) => unknown) =>
    ROWS.map((r) => (r[k] === null ? null : f(r[k] as NonNullable<Row[K]>)));
  const ts = (v: string) => {
    const us = unixMicros(v);
    if (unit === 'us') return us;
    return us >= 0n ? us / 1000n : -((-us + 999n) / 1000n); // floor
  };
  return {
    id: col('id', (v) => v),
    i2: col('i2', (v) => v),
    i4: col('i4', (v) => v),
    i8: col('i8', (v) => v),
    f4: col('f4', (v) => Math.fround(v)),
    f8: col('f8', (v) => v),
    b: col('b', (v) => v),
    dec: col('dec', (v) => scaled(v, 9)),
    dec38: col('dec38', (v) => scaled(v, 0)),
    money: col('money', (v) => scaled(v, 2)),
    num: col('num', (v) => v),
    t: col('t', (v) => v),
    vc: col('vc', (v) => v),
    by: col('by', (v) => v),
    u: col('u', (v) => v),
    js: col('js', (v) => v),
    jb: col('jb', (v) => v),
    d: col('d', (v) => unixDays(v)),
    tm: col('tm', (v) => v),
    ts: col('ts', ts),
    tstz: col('tstz', ts),
    ia: col('ia', (v) => v),
    ta: col('ta', (v) => v),
    da: col('da', (v) => v.map((x) => (x === null ? null : scaled(x, 2)))),
  };
}

// ---------------------------------------------------------------------------------------------

describe('CopyBinaryDecoder: values', () => {
  const whole = decode(SPECS, STREAM);

  test('every kind round-trips exactly, NULLs included', () => {
    const got = columns(whole.batches.map((b) => b.batch));
    const want = expected('us');
    for (const name of Object.keys(want)) assert.deepEqual(got[name], want[name], `column ${name}`);
    assert.equal(whole.decoder.rowsDecoded, ROWS.length);
  });

  test('Arrow types follow the type map', () => {
    const types = Object.fromEntries(whole.decoder.schema.fields.map((f) => [f.name, String(f.type)]));
    assert.equal(types.i2, 'Int16');
    assert.equal(types.i8, 'Int64');
    assert.equal(types.f4, 'Float32');
    const dec = whole.decoder.schema.fields[7]!.type as DataType;
    assert.ok(DataType.isDecimal(dec) && dec.precision === 38 && dec.scale === 9 && dec.bitWidth === 128);
    assert.equal(types.num, 'Utf8');
    assert.equal(types.by, 'Binary');
    assert.equal(types.d, 'Date32<DAY>');
    assert.equal(types.tm, 'Time64<MICROSECOND>');
    assert.equal(types.ts, 'Timestamp<MICROSECOND>');
    assert.equal(types.tstz, 'Timestamp<MICROSECOND, UTC>');
    assert.equal(types.ia, 'List<Int32>');
    assert.equal(types.da, 'List<Decimal[10e+2]>');
    assert.equal(whole.decoder.schema.fields[0]!.nullable, false, 'NOT NULL → non-nullable');
    assert.equal(whole.decoder.schema.fields[1]!.nullable, true);
    assert.deepEqual(SPECS.map((s) => s.arrowType).slice(7, 11), [
      'Decimal128(38,9)',
      'Decimal128(38,0)',
      'Decimal128(12,2)',
      'Utf8',
    ]);
  });

  test('a column without NULLs has no validity bitmap; others have an LSB-first one', () => {
    const batch = whole.batches[0]!.batch;
    const id = batch.getChild('id')!.data[0]!;
    assert.equal(id.nullCount, 0);
    assert.equal(id.nullBitmap?.length ?? 0, 0);
    const i2 = batch.getChild('i2')!.data[0]!;
    assert.equal(i2.nullCount, ROWS.filter((r) => r.i2 === null).length);
    assert.equal((i2.nullBitmap[0]! >> 6) & 1, 0, 'row 6 is NULL');
    assert.equal(i2.nullBitmap[0]! & 1, 1, 'row 0 is valid');
  });

  test('timestamps in ms are floored toward -infinity; cursors stay in µs', () => {
    const specs = planColumns(PG_COLUMNS, MS);
    const { batches, decoder } = decode(specs, STREAM, { typeOptions: MS, cursorColumn: 19, batchRows: 7 });
    const got = columns(batches.map((b) => b.batch));
    assert.deepEqual(got.ts, expected('ms').ts);
    assert.deepEqual(got.tstz, expected('ms').tstz);
    assert.equal(String(decoder.schema.fields[20]!.type), 'Timestamp<MILLISECOND, UTC>');
    // '1969-12-31 23:59:59.9995' → -500 µs → -1 ms
    assert.ok((got.ts as (bigint | null)[]).includes(-1n));
    const first = ROWS[0]!.ts!;
    assert.equal(batches[0]!.cursorFirst, unixMicros(first).toString());
    const last = ROWS[6]!.ts; // row 6 of the first 7-row batch
    assert.equal(batches[0]!.cursorLast, last === null ? null : unixMicros(last).toString());
  });

  test('the batches survive an Arrow IPC round trip unchanged', () => {
    const table = new Table(whole.batches.map((b) => b.batch));
    const back = tableFromIPC(tableToIPC(table, 'stream'));
    assert.deepEqual(columns(back.batches), columns(whole.batches.map((b) => b.batch)));
  });
});

describe('CopyBinaryDecoder: chunk boundaries', () => {
  const reference = decode(SPECS, STREAM, { batchRows: 16 });
  const summary = (batches: DecodedBatch[]) =>
    batches.map((b) => ({ rows: b.rows, bytes: b.bytes, first: b.cursorFirst, last: b.cursorLast }));

  for (const size of [1, 2, 3, 7, 64, 333, 1000, 65536]) {
    test(`chunks of ${size} bytes decode identically`, () => {
      const got = decode(SPECS, STREAM, { chunk: size, batchRows: 16 });
      assert.deepEqual(summary(got.batches), summary(reference.batches));
      assert.deepEqual(
        columns(got.batches.map((b) => b.batch)),
        columns(reference.batches.map((b) => b.batch)),
      );
    });
  }

  test('released batches lend their buffers to later ones without changing any value', () => {
    // 13 rows a batch: an odd size, so that reused buffers never line up with the same values.
    const want = columns(decode(SPECS, STREAM, { batchRows: 13 }).batches.map((b) => b.batch));
    for (const size of [7, 4096, STREAM.length]) {
      const dec = new CopyBinaryDecoder(SPECS, {
        batchRows: 13,
        batchBytes: 1 << 30,
        cursorColumn: 0,
        typeOptions: US,
        table: 'public.t',
      });
      // Each batch is read (copied out) and then released, as the exporter does after IPC.
      const seen: RecordBatch[] = [];
      const take = (b: DecodedBatch) => {
        seen.push(tableFromIPC(tableToIPC(new Table([b.batch]))).batches[0]!);
        dec.release(b);
      };
      for (let i = 0; i < STREAM.length; i += size) dec.push(STREAM.slice(i, i + size)).forEach(take);
      const last = dec.finish();
      if (last) take(last);
      assert.equal(seen.length, 5);
      assert.deepEqual(columns(seen), want, `chunks of ${size} bytes`);
    }
  });

  test('random chunk sizes decode identically', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 200) + 1;
    const dec = new CopyBinaryDecoder(SPECS, {
      batchRows: 16,
      batchBytes: 1 << 30,
      cursorColumn: 0,
      typeOptions: US,
      table: 't',
    });
    const out: DecodedBatch[] = [];
    for (let i = 0; i < STREAM.length; ) {
      const n = rand();
      out.push(...dec.push(STREAM.subarray(i, i + n)));
      i += n;
    }
    out.push(dec.finish()!);
    assert.deepEqual(summary(out), summary(reference.batches));
    assert.deepEqual(columns(out.map((b) => b.batch)), columns(reference.batches.map((b) => b.batch)));
  });

  test('a large field straddling many small chunks', () => {
    const specs = planColumns([pgCol('id', 23), pgCol('big', 25), pgCol('blob', 17)], US);
    const big = '😀'.repeat(50_000) + 'end';
    const blob = new Uint8Array(70_000).map((_, i) => i % 7);
    const rows = [
      [int4(1), utf8(big), blob],
      [int4(2), null, new Uint8Array(0)],
    ];
    const stream = copyStream(rows);
    for (const size of [3, 4096, 65536]) {
      const { batches } = decode(specs, stream, { chunk: size });
      const got = columns(batches.map((b) => b.batch));
      assert.deepEqual(got.big, [big, null]);
      assert.deepEqual(got.blob, [Buffer.from(blob).toString('hex'), '']);
    }
  });

  test('a header extension is skipped', () => {
    const specs = planColumns([pgCol('id', 23)], US);
    const stream = copyStream([[int4(5)]], new Uint8Array([9, 9, 9]));
    for (const size of [1, 100]) {
      assert.deepEqual(columns(decode(specs, stream, { chunk: size }).batches.map((b) => b.batch)).id, [5]);
    }
  });

  test('an empty result gives no batch', () => {
    const { batches, decoder } = decode(SPECS, copyStream([]), { chunk: 1 });
    assert.equal(batches.length, 0);
    assert.equal(decoder.rowsDecoded, 0);
  });
});

describe('CopyBinaryDecoder: uuidAs "uuid" and jsonAs "json"', () => {
  const specs = planColumns(PG_COLUMNS, { ...US, uuidAs: 'uuid', jsonAs: 'json' });

  for (const size of [1, 7, STREAM.length]) {
    test(`uuid as its 16 bytes (FixedSizeBinary(16), arrow.uuid), json as text (arrow.json): chunks of ${size}`, () => {
      // Batches of 16 rows: later batches reuse released buffers.
      const { batches, decoder } = decode(specs, STREAM, { chunk: size, batchRows: 16 });
      const field = (name: string) => decoder.schema.fields.find((f) => f.name === name)!;
      assert.equal(String(field('u').type), 'FixedSizeBinary[16]');
      assert.equal(field('u').metadata.get('ARROW:extension:name'), 'arrow.uuid');
      assert.equal(field('js').metadata.get('ARROW:extension:name'), 'arrow.json');
      assert.equal(field('jb').metadata.get('ARROW:extension:name'), 'arrow.json');
      assert.equal(field('t').metadata.size, 0);
      const got: (string | null)[] = [];
      for (const b of batches) {
        const data = b.batch.getChild('u')!.data[0]!;
        for (let i = 0; i < b.rows; i++) {
          got.push(
            data.getValid(i) ? Buffer.from(data.values.subarray(16 * i, 16 * i + 16)).toString('hex') : null,
          );
        }
        decoder.release(b);
      }
      assert.deepEqual(
        got,
        ROWS.map((r) => (r.u === null ? null : Buffer.from(uuid(r.u)).toString('hex'))),
      );
      const want = expected('us');
      const text = columns(decode(specs, STREAM, { chunk: size, batchRows: 16 }).batches.map((b) => b.batch));
      assert.deepEqual([text.js, text.jb], [want.js, want.jb]);
    });
  }
});

describe('CopyBinaryDecoder: batches', () => {
  test('cut by rows, with the cursor of the first and last row', () => {
    const { batches } = decode(SPECS, STREAM, { batchRows: 16 });
    assert.deepEqual(
      batches.map((b) => b.rows),
      [16, 16, 16, 12],
    );
    assert.equal(batches[1]!.cursorFirst, ROWS[16]!.id.toString());
    assert.equal(batches[1]!.cursorLast, ROWS[31]!.id.toString());
    assert.equal(batches[1]!.batch.numRows, 16);
    assert.deepEqual(
      batches.map((b) => b.bytes),
      [0, 16, 32, 48].map((from, k) =>
        fieldBytes(ROWS.slice(from, from + [16, 16, 16, 12][k]!).map(encodeRow)),
      ),
    );
  });

  test('cut by bytes: each batch but the last reaches the limit', () => {
    const { batches } = decode(SPECS, STREAM, { batchBytes: 1500, chunk: 4096 });
    assert.ok(batches.length > 2);
    for (const b of batches.slice(0, -1)) {
      assert.ok(b.bytes >= 1500);
      assert.ok(b.bytes - 1500 < 1000, 'cut right after the row that reached the limit');
    }
    assert.equal(
      batches.reduce((s, b) => s + b.rows, 0),
      ROWS.length,
    );
    assert.equal(
      batches.reduce((s, b) => s + b.bytes, 0),
      fieldBytes(ROWS.map(encodeRow)),
    );
  });

  test('cursor forms: int4, date (days since 1970), NULL, and no cursor column', () => {
    const specs = planColumns([pgCol('d', 1082), pgCol('n', 23)], US);
    const stream = copyStream([
      [date('1969-12-31'), int4(-5)],
      [date('2024-03-01'), null],
      [null, int4(9)],
    ]);
    const byDate = decode(specs, stream, { cursorColumn: 0, batchRows: 2 }).batches;
    assert.deepEqual(
      byDate.map((b) => [b.cursorFirst, b.cursorLast]),
      [
        ['-1', String(unixDays('2024-03-01'))],
        [null, null],
      ],
    );
    const byInt = decode(specs, stream, { cursorColumn: 1 }).batches;
    assert.deepEqual([byInt[0]!.cursorFirst, byInt[0]!.cursorLast], ['-5', '9']);
    const none = decode(specs, stream, { cursorColumn: -1 }).batches;
    assert.deepEqual([none[0]!.cursorFirst, none[0]!.cursorLast], [null, null]);
  });

  test('metadata columns follow the source columns, with the same value in every batch', () => {
    const extractedAt = '2024-05-06T07:08:09.123Z';
    const plain = decode(SPECS, STREAM, { batchRows: 16 }).batches;
    for (const [unit, extractionIdColumn, value] of [
      ['us', '_extraction_id', BigInt(Date.parse(extractedAt)) * 1000n],
      ['ms', null, BigInt(Date.parse(extractedAt))],
    ] as const) {
      const dec = new CopyBinaryDecoder(SPECS, {
        batchRows: 16,
        batchBytes: 1 << 30,
        cursorColumn: 0,
        typeOptions: US,
        table: 'public.t',
        metadata: {
          extractedAtColumn: '_extracted_at',
          extractionIdColumn,
          timestampUnit: unit,
          extractedAt,
          extractionId: 'run-1',
        },
      });
      const batches = [...dec.push(STREAM), dec.finish()!];
      const names = dec.schema.fields.map((f) => f.name);
      const extra = extractionIdColumn === null ? ['_extracted_at'] : ['_extracted_at', '_extraction_id'];
      assert.deepEqual(names, [...SPECS.map((s) => s.name), ...extra]);
      const at = dec.schema.fields[SPECS.length]!;
      assert.equal(
        String(at.type),
        unit === 'us' ? 'Timestamp<MICROSECOND, UTC>' : 'Timestamp<MILLISECOND, UTC>',
      );
      assert.equal(at.nullable, false);
      assert.deepEqual(
        batches.map((b) => b.rows),
        [16, 16, 16, 12],
      );
      for (const b of batches)
        assert.ok(util.compareSchemas(b.batch.schema, dec.schema), 'batches carry the decoder schema');
      const got = columns(batches.map((b) => b.batch));
      assert.deepEqual(got._extracted_at, Array<bigint>(ROWS.length).fill(value));
      if (extractionIdColumn !== null)
        assert.deepEqual(got._extraction_id, Array<string>(ROWS.length).fill('run-1'));
      delete got._extracted_at;
      delete got._extraction_id;
      assert.deepEqual(got, columns(plain.map((b) => b.batch)), 'source columns as without metadata');
    }
  });

  test('batches do not share buffers', () => {
    const specs = planColumns([pgCol('id', 20), pgCol('s', 25)], US);
    const rows = Array.from({ length: 10 }, (_, i) => [int8(BigInt(i)), utf8(`s${i}`)]);
    const { batches } = decode(specs, copyStream(rows), { batchRows: 3 });
    const buffers = batches.flatMap((b) => [
      b.batch.getChild('id')!.data[0]!.values.buffer,
      b.batch.getChild('s')!.data[0]!.values.buffer,
    ]);
    assert.equal(new Set(buffers).size, buffers.length);
    assert.deepEqual(
      columns(batches.map((b) => b.batch)).s,
      rows.map((_, i) => `s${i}`),
    );
  });
});

describe('CopyBinaryDecoder.decode: one set of buffers when each batch is released', () => {
  const specs = planColumns([pgCol('id', 20), pgCol('s', 25), pgCol('f', 701)], US);
  const rows = Array.from({ length: 50 }, (_, i) => [
    int8(BigInt(i)),
    i % 7 === 0 ? null : utf8(`v${'x'.repeat(i % 11)}${i}`),
    be(8, (v) => v.setFloat64(0, i / 3)),
  ]);
  const stream = copyStream(rows);
  for (const size of [1, 3, 7, 64, stream.length]) {
    test(`chunks of ${size} bytes: every batch in the same buffers, the values those of push()`, () => {
      const dec = new CopyBinaryDecoder(specs, {
        batchRows: 8,
        batchBytes: 1 << 30,
        cursorColumn: 0,
        typeOptions: US,
        table: 'public.t',
      });
      const values: ReturnType<typeof columns>[] = [];
      const buffers: ArrayBufferLike[] = [];
      const spans: [string | null, string | null][] = [];
      const take = (b: DecodedBatch) => {
        // Read before release: the next batch overwrites these buffers.
        values.push(columns([b.batch]));
        buffers.push(b.batch.getChild('id')!.data[0]!.values.buffer);
        spans.push([b.cursorFirst, b.cursorLast]);
        dec.release(b);
      };
      for (let i = 0; i < stream.length; i += size)
        for (const b of dec.decode(stream.slice(i, i + size))) take(b);
      const last = dec.finish();
      if (last) take(last);
      const expected = decode(specs, stream, { batchRows: 8 }).batches;
      assert.deepEqual(
        values,
        expected.map((b) => columns([b.batch])),
      );
      assert.deepEqual(
        spans,
        expected.map((b) => [b.cursorFirst, b.cursorLast]),
      );
      // Six full batches of 8 rows (the last, of 2, may be trimmed into a buffer of its own).
      assert.equal(new Set(buffers.slice(0, 6)).size, 1, 'the full batches share one buffer');
    });
  }
});

describe('CopyBinaryDecoder: values Parquet cannot hold', () => {
  // Columns: a value column first, the cursor after it (the error must still name its cursor).
  const check = (
    pg: PgColumn,
    value: Uint8Array,
    want: { value: RegExp; option: string },
    typeOptions: TypeOptions = US,
  ) => {
    const specs = planColumns([pgCol('id', 20), pg, pgCol('cur', 20)], typeOptions);
    const stream = copyStream([
      [int8(1n), null, int8(100n)],
      [int8(2n), value, int8(200n)],
    ]);
    for (const chunk of [1, 5, 65536]) {
      assert.throws(
        () => decode(specs, stream, { chunk, cursorColumn: 2, typeOptions }),
        (err: unknown) => {
          assert.ok(err instanceof UnsupportedValueError, String(err));
          assert.equal(err.type, 'PgParquetUnsupportedValue');
          assert.equal(err.table, 'public.t');
          assert.equal(err.column, pg.name);
          assert.equal(err.pgType, pg.pgType);
          assert.match(err.value, want.value);
          assert.equal(err.cursor, '200', 'the failing row’s own cursor, read ahead in the row');
          assert.equal(err.option, want.option);
          assert.match(
            err.message,
            new RegExp(`public\\.t.*${pg.name}.*200.*${want.option.replace('.', '\\.')}`),
          );
          return true;
        },
        `chunks of ${chunk}`,
      );
    }
  };

  test('date ±infinity', () => {
    check(pgCol('d', 1082, { pgType: 'date' }), INFINITY_DATE, {
      value: /^infinity$/,
      option: 'transform.infinity',
    });
    check(pgCol('d', 1082, { pgType: 'date' }), int4(-0x80000000), {
      value: /^-infinity$/,
      option: 'transform.infinity',
    });
  });

  test('timestamp ±infinity, in µs and in ms', () => {
    for (const opts of [US, MS]) {
      check(
        pgCol('ts', 1184, { pgType: 'timestamptz' }),
        MINUS_INFINITY_TS,
        {
          value: /^-infinity$/,
          option: 'transform.infinity',
        },
        opts,
      );
      check(
        pgCol('ts', 1114, { pgType: 'timestamp' }),
        int8(2n ** 63n - 1n),
        {
          value: /^infinity$/,
          option: 'transform.infinity',
        },
        opts,
      );
    }
  });

  test('a timestamp beyond int64 µs since 1970 is refused in µs and kept in ms', () => {
    // PostgreSQL's last timestamp, 294276-12-31 23:59:59.999999, is 9223371331199999999 µs after 2000.
    const last = int8(9_223_371_331_199_999_999n);
    check(pgCol('ts', 1114, { pgType: 'timestamp' }), last, {
      value: /9223371331199999999/,
      option: 'transform.timestampUnit',
    });
    const specs = planColumns([pgCol('ts', 1114)], MS);
    const { batches } = decode(specs, copyStream([[last]]), { typeOptions: MS, cursorColumn: -1 });
    assert.deepEqual(columns(batches.map((b) => b.batch)).ts, [
      (9_223_371_331_199_999_999n + 946_684_800_000_000n) / 1000n,
    ]);
  });

  test('numeric NaN and ±Infinity in a decimal column (kept as text in an unconstrained one)', () => {
    const dec = pgCol('n', 1700, { typmod: numericTypmod(10, 2), pgType: 'numeric(10,2)' });
    for (const v of ['NaN', 'Infinity', '-Infinity']) {
      check(dec, numeric(v), { value: new RegExp(`^${v}$`), option: 'transform.numericAsString' });
    }
  });

  test('numeric beyond the precision, or with more decimals than the scale', () => {
    const dec = pgCol('n', 1700, { typmod: numericTypmod(5, 2), pgType: 'numeric(5,2)' });
    check(dec, numeric('1234.00'), { value: /^1234\.00 /, option: 'transform.numericAsString' });
    check(dec, numeric('-0.001'), { value: /^-0\.001 /, option: 'transform.numericAsString' });
    const wide = pgCol('n', 1700, { typmod: numericTypmod(20, 0), pgType: 'numeric(20,0)' });
    check(wide, numeric('1' + '0'.repeat(20)), { value: /^1000/, option: 'transform.numericAsString' });
  });

  test('a multi-dimensional array in a List column', () => {
    check(
      pgCol('a', 1007, { elementOid: 23, pgType: 'integer[]' }),
      array(23, [int4(1), int4(2), int4(3), int4(4)], [2, 2]),
      {
        value: /2-dimensional/,
        option: 'transform.arraysAsText',
      },
    );
  });

  test('an infinity inside an array', () => {
    check(
      pgCol('a', 1182, { elementOid: 1082, pgType: 'date[]' }),
      array(1082, [date('2020-01-01'), INFINITY_DATE]),
      {
        value: /^infinity$/,
        option: 'transform.infinity',
      },
    );
  });

  test('the decoder stays failed', () => {
    const specs = planColumns([pgCol('d', 1082)], US);
    const dec = new CopyBinaryDecoder(specs, {
      batchRows: 10,
      batchBytes: 1e9,
      cursorColumn: -1,
      typeOptions: US,
      table: 't',
    });
    const stream = copyStream([[INFINITY_DATE]]);
    assert.throws(() => dec.push(stream), UnsupportedValueError);
    assert.throws(() => dec.push(new Uint8Array([0])), UnsupportedValueError);
    assert.throws(() => dec.finish(), UnsupportedValueError);
  });
});

describe('CopyBinaryDecoder: malformed streams', () => {
  const decodeAll = (specs: readonly ColumnSpec[], stream: Uint8Array, chunk = 65536) =>
    decode(specs, stream, { chunk });

  test('a stream cut anywhere is refused by finish()', () => {
    for (const cut of [0, 5, 18, 19, 21, 40, STREAM.length - 30, STREAM.length - 2, STREAM.length - 1]) {
      for (const chunk of [1, 65536]) {
        assert.throws(
          () => decodeAll(SPECS, STREAM.subarray(0, cut), chunk),
          (err: unknown) => err instanceof CopyFormatError && /truncated/.test(err.message),
          `cut at ${cut}, chunks of ${chunk}`,
        );
      }
    }
  });

  test('bytes after the trailer are refused', () => {
    const specs = planColumns([pgCol('id', 23)], US);
    const stream = concat([copyStream([[int4(1)]]), new Uint8Array([0])]);
    assert.throws(() => decodeAll(specs, stream), /after the COPY trailer/);
    const more = concat([copyStream([[int4(1)]]), copyStream([])]);
    assert.throws(() => decodeAll(specs, more, 1), /after the end/);
  });

  test('a wrong signature, field count or field width is refused', () => {
    const specs = planColumns([pgCol('id', 23), pgCol('n', 20)], US);
    const bad = copyStream([[int4(1), int8(2n)]]);
    bad[0] = 0x51;
    assert.throws(() => decodeAll(specs, bad), /bad signature/);
    assert.throws(() => decodeAll(specs, copyStream([[int4(1)]])), /1 fields, 2 were expected/);
    // An int8 where int4 was planned: the table changed since planning.
    assert.throws(
      () => decodeAll(specs, copyStream([[int8(1n), int8(2n)]])),
      (err: unknown) => {
        return err instanceof CopyFormatError && /column id .*8-byte field where 4/.test(err.message);
      },
    );
  });
});

describe('planColumns', () => {
  test('select expressions are quoted identifiers, with ::text for types without a decoder', () => {
    const specs = planColumns(
      [
        pgCol('we"ird name', 23),
        pgCol('iv', 1186, { pgType: 'interval' }),
        pgCol('ip', 869, { pgType: 'inet' }),
        pgCol('mood', 99999, { typtype: 'e', pgType: 'mood' }),
        pgCol('ci', 88888, { typeName: 'citext', pgType: 'citext' }),
        pgCol('rng', 3904, { typtype: 'r', pgType: 'int4range' }),
        pgCol('ivs', 1187, { elementOid: 1186, pgType: 'interval[]' }),
        pgCol('moods', 99998, { elementOid: 99999, elementTyptype: 'e', pgType: 'mood[]' }),
        pgCol('cis', 88887, { elementOid: 88888, elementTypeName: 'citext', pgType: 'citext[]' }),
        pgCol('wide', 1700, { typmod: numericTypmod(39, 2), pgType: 'numeric(39,2)' }),
        pgCol('negscale', 1700, { typmod: numericTypmod(5, -2), pgType: 'numeric(5,-2)' }),
        pgCol('bp', 1042, { typmod: 14, pgType: 'character(10)' }),
      ],
      US,
    );
    const by = Object.fromEntries(specs.map((s) => [s.name, s]));
    assert.equal(by['we"ird name']!.selectExpr, '"we""ird name"');
    assert.equal(by.iv!.selectExpr, '"iv"::text');
    assert.equal(by.ip!.selectExpr, '"ip"::text');
    assert.equal(by.rng!.selectExpr, '"rng"::text');
    assert.equal(by.ivs!.selectExpr, '"ivs"::text');
    assert.equal(by.ivs!.kind, 'text');
    for (const name of ['mood', 'ci', 'bp']) {
      assert.equal(by[name]!.kind, 'text', name);
      assert.equal(by[name]!.selectExpr, `"${name}"`, name);
    }
    assert.equal(by.moods!.arrowType, 'List<Utf8>');
    assert.equal(by.cis!.arrowType, 'List<Utf8>');
    assert.equal(by.wide!.kind, 'numeric-string');
    assert.equal(by.negscale!.kind, 'numeric-string');
    assert.equal(by.wide!.selectExpr, '"wide"', 'exact text from the binary form, no cast');
  });
});

describe('CopyBinaryDecoder.dispose: column buffers freed at once, never under a batch in use', () => {
  // 1 KiB texts: a 100-row batch's data buffer is over release-buffer.ts's 64 KiB minimum.
  const specs = planColumns([pgCol('id', 20), pgCol('s', 25)], US);
  const text = (i: number) => `${i}:${'y'.repeat(1024)}`;
  const rows = Array.from({ length: 200 }, (_, i) => [int8(BigInt(i)), utf8(text(i))]);
  const stream = copyStream(rows);
  const decoder = () =>
    new CopyBinaryDecoder(specs, {
      batchRows: 100,
      batchBytes: 1 << 30,
      cursorColumn: 0,
      typeOptions: US,
      table: 'public.t',
    });
  const dataBuffer = (b: DecodedBatch) => b.batch.getChild('s')!.data[0]!.values.buffer as ArrayBuffer;

  test('after every batch was released: the buffers are detached and the decoder refuses input', () => {
    const dec = decoder();
    const taken = [...dec.decode(stream)];
    const last = dec.finish();
    assert.equal(last, null);
    assert.equal(taken.length, 2);
    for (const b of taken) dec.release(b);
    const buffer = dataBuffer(taken[1]!);
    assert.ok(buffer.byteLength >= 100 * 1024, 'the batch was built in a buffer worth freeing');
    dec.dispose();
    assert.equal(buffer.byteLength, 0, 'the released batch’s buffer is detached (freed)');
    assert.throws(() => dec.push(stream), CopyFormatError);
  });

  test('with a batch still in use: its values stay as they were', () => {
    const dec = decoder();
    const [first, second] = [...dec.decode(stream)];
    dec.finish();
    dec.release(first!);
    dec.dispose();
    assert.ok(dataBuffer(second!).byteLength > 0);
    assert.deepEqual(
      columns([second!.batch]).s,
      rows.slice(100).map((_, i) => text(100 + i)),
    );
    assert.throws(() => dec.finish(), CopyFormatError);
  });
});
