/**
 * The binary COPY decoder on streams built by a small encoder here: values round-trip exactly,
 * whatever the chunk boundaries, and values Parquet cannot hold are refused with a typed error.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ColumnSpec } from '../../src/arrow/column-spec.js';
import { planColumns } from '../../src/arrow/type-map.js';
import {
  CopyBinaryDecoder,
  UnsupportedValueError,
  type DecodedBatch,
} from '../../src/postgres/copy-decoder.js';
import { ErrorType } from '../../src/errors.js';

type Field = Uint8Array | null;

const be = (bytes: number, write: (v: DataView) => void): Uint8Array => {
  const b = new Uint8Array(bytes);
  write(new DataView(b.buffer));
  return b;
};
const int2 = (v: number) => be(2, (d) => d.setInt16(0, v));
const int4 = (v: number) => be(4, (d) => d.setInt32(0, v));
const int8 = (v: bigint) => be(8, (d) => d.setBigInt64(0, v));
const float8 = (v: number) => be(8, (d) => d.setFloat64(0, v));
const text = (s: string) => new TextEncoder().encode(s);
const bool = (v: boolean) => new Uint8Array([v ? 1 : 0]);
const jsonb = (s: string) => new Uint8Array([1, ...text(s)]);
const uuid = (hex: string) =>
  Uint8Array.from(
    hex
      .replace(/-/g, '')
      .match(/../g)!
      .map((h) => parseInt(h, 16)),
  );
/** numeric from its decimal text, the way PostgreSQL's numeric_send lays it out. */
function numeric(value: string): Uint8Array {
  if (value === 'NaN') return concat([int2(0), int2(0), be(2, (d) => d.setUint16(0, 0xc000)), int2(0)]);
  const neg = value.startsWith('-');
  const [intPart = '0', frac = ''] = value.replace('-', '').split('.');
  const dscale = frac.length;
  const padInt = intPart.padStart(Math.ceil(intPart.length / 4) * 4, '0');
  const padFrac = frac.padEnd(Math.ceil(frac.length / 4) * 4, '0');
  let groups = [...(padInt.match(/..../g) ?? []), ...(padFrac.match(/..../g) ?? [])].map(Number);
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
    be(2, (d) => d.setUint16(0, neg ? 0x4000 : 0)),
    int2(dscale),
    ...groups.map(int2),
  ]);
}
function int4Array(values: (number | null)[]): Uint8Array {
  if (values.length === 0) return concat([int4(0), int4(0), int4(23)]);
  const parts = [int4(1), int4(values.includes(null) ? 1 : 0), int4(23), int4(values.length), int4(1)];
  for (const v of values) parts.push(v === null ? int4(-1) : concat([int4(4), int4(v)]));
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
function copyStream(rows: Field[][]): Uint8Array {
  const parts = [
    Uint8Array.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]),
    int4(0),
    int4(0),
  ];
  for (const row of rows) {
    parts.push(int2(row.length));
    for (const f of row) parts.push(f === null ? int4(-1) : concat([int4(f.length), f]));
  }
  parts.push(int2(-1));
  return concat(parts);
}

const col = (name: string, typeOid: number, typmod = -1, elementOid = 0) => ({
  name,
  pgType: name,
  typeOid,
  typmod,
  typtype: 'b',
  elementOid,
  notNull: false,
});
const numericTypmod = (p: number, s: number) => ((p << 16) | s) + 4;

const specs: ColumnSpec[] = planColumns(
  [
    col('id', 20),
    col('n4', 23),
    col('t', 25),
    col('dec', 1700, numericTypmod(38, 4)),
    col('num', 1700),
    col('d', 1082),
    col('ts', 1184),
    col('b', 16),
    col('f', 701),
    col('u', 2950),
    col('j', 3802),
    col('arr', 1007, -1, 23),
  ],
  { timestampUnit: 'us' },
);

const US_2000 = 946_684_800_000_000n;
const rows: Field[][] = [];
for (let i = 0; i < 50; i++) {
  rows.push([
    int8(BigInt(i) * 1_000_000_007n - 9_000_000_000n),
    i % 7 === 0 ? null : int4(-i * 1000),
    i % 5 === 0 ? null : text(i % 2 ? `😀 row ${i}` : ''),
    i % 6 === 0 ? null : numeric(i % 2 ? `-${i}.0001` : `12345678901234567890123456789012.${i}`),
    i % 8 === 0 ? null : numeric(i % 3 ? '0.000100' : `-${i}00000000000000000000.5`),
    i % 9 === 0 ? null : int4(-800_000 + i * 1000), // days since 2000-01-01: before year 1 for i = 0
    i % 4 === 0 ? null : int8(BigInt(i) * 86_400_000_001n - 1n),
    i % 3 === 0 ? null : bool(i % 2 === 0),
    float8([NaN, Infinity, -Infinity, -0, 1.5e300][i % 5]!),
    uuid('00112233-4455-6677-8899-aabbccddee' + String(i).padStart(2, '0')),
    i % 10 === 0 ? null : jsonb(`{"i": ${i}}`),
    i % 11 === 0 ? null : int4Array(i % 2 ? [] : [i, null, -i]),
  ]);
}
const stream = copyStream(rows);

function decodeIn(chunkSize: number, batchRows = 16, batchBytes = 1 << 30): DecodedBatch[] {
  const dec = new CopyBinaryDecoder(specs, {
    batchRows,
    batchBytes,
    cursorColumn: 0,
    typeOptions: { timestampUnit: 'us' },
    table: 't',
  });
  const out: DecodedBatch[] = [];
  for (let i = 0; i < stream.length; i += chunkSize) out.push(...dec.push(stream.subarray(i, i + chunkSize)));
  const last = dec.finish();
  if (last) out.push(last);
  assert.equal(dec.rowsDecoded, rows.length);
  return out;
}

/** Values as plain JSON-able data (bigint → string, decimals → words). */
function plain(batches: DecodedBatch[]): unknown[] {
  return batches.flatMap((b) =>
    b.batch
      .toArray()
      .map((r: { toJSON(): Record<string, unknown> }) =>
        JSON.parse(
          JSON.stringify(r.toJSON(), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
        ),
      ),
  );
}

describe('CopyBinaryDecoder', () => {
  const whole = decodeIn(stream.length);

  test('values round-trip exactly', () => {
    const v = plain(whole) as Record<string, unknown>[];
    assert.equal(v.length, 50);
    const r1 = v[1]!;
    assert.equal(r1.id, String(1_000_000_007n - 9_000_000_000n));
    assert.equal(r1.n4, -1000);
    assert.equal(r1.t, '😀 row 1');
    assert.equal(v[2]!.t, '');
    assert.equal(v[0]!.t, null);
    assert.equal(r1.num, '0.000100', 'dscale kept');
    assert.equal(v[3]!.num, '-300000000000000000000.5');
    assert.equal(r1.d, (-800_000 + 1000 + 10957) * 86_400_000, 'Date32 days → ms in Arrow JS');
    assert.equal(r1.b, false);
    assert.equal(v[2]!.b, true);
    assert.equal(r1.u, '00112233-4455-6677-8899-aabbccddee01');
    assert.equal(r1.j, '{"i": 1}');
    assert.deepEqual(r1.arr, []);
    assert.deepEqual(v[2]!.arr, [2, null, -2]);
    assert.equal(v[0]!.arr, null);
    const fs = whole.flatMap((b) => [...(b.batch.getChild('f')!.toArray() as Float64Array)]);
    assert.ok(Number.isNaN(fs[0]) && fs[1] === Infinity && fs[2] === -Infinity && Object.is(fs[3], -0));
  });

  test('timestamps and decimals are exact at full precision', () => {
    const ts = whole.flatMap((b) => [...(b.batch.getChild('ts')!.data[0]!.values as BigInt64Array)]);
    assert.equal(ts[5], 5n * 86_400_000_001n - 1n + US_2000);
    const words = whole[0]!.batch.getChild('dec')!.data[0]!.values as Uint32Array;
    // row 1: -1.0001 at scale 4 → -10001 as a 128-bit two's complement integer
    const w = words.subarray(4, 8);
    const v = (BigInt(w[3]!) << 96n) | (BigInt(w[2]!) << 64n) | (BigInt(w[1]!) << 32n) | BigInt(w[0]!);
    assert.equal(BigInt.asIntN(128, v), -10001n);
    const w2 = words.subarray(8, 12); // row 2: 12345678901234567890123456789012.2 → scale 4
    const v2 = (BigInt(w2[3]!) << 96n) | (BigInt(w2[2]!) << 64n) | (BigInt(w2[1]!) << 32n) | BigInt(w2[0]!);
    assert.equal(v2, 123456789012345678901234567890122000n);
  });

  test('chunk boundaries do not matter (1, 2, 3, 7 bytes and 64 KiB)', () => {
    const expected = plain(whole);
    for (const size of [1, 2, 3, 7, 65536])
      assert.deepEqual(plain(decodeIn(size)), expected, `chunks of ${size}`);
  });

  test('batches are cut by rows and by bytes, cursors recorded per batch', () => {
    assert.deepEqual(
      whole.map((b) => b.rows),
      [16, 16, 16, 2],
    );
    assert.equal(whole[1]!.cursorFirst, String(16n * 1_000_000_007n - 9_000_000_000n));
    assert.equal(whole[1]!.cursorLast, String(31n * 1_000_000_007n - 9_000_000_000n));
    const byBytes = decodeIn(4096, 1000, 2000);
    assert.ok(byBytes.length > 1);
    assert.ok(byBytes.slice(0, -1).every((b) => b.bytes >= 2000));
    assert.equal(
      byBytes.reduce((s, b) => s + b.rows, 0),
      50,
    );
  });

  test('truncated streams are refused', () => {
    const dec = new CopyBinaryDecoder(specs, {
      batchRows: 100,
      batchBytes: 1e9,
      cursorColumn: 0,
      typeOptions: { timestampUnit: 'us' },
      table: 't',
    });
    dec.push(stream.subarray(0, stream.length - 10));
    assert.throws(() => dec.finish(), /truncated|trailer/);
  });

  test('an infinite date is refused with a typed error naming column and cursor', () => {
    const bad = copyStream([
      [
        int8(42n),
        null,
        null,
        null,
        null,
        int4(0x7fffffff),
        null,
        null,
        float8(0),
        uuid('00000000-0000-0000-0000-000000000000'),
        null,
        null,
      ],
    ]);
    const dec = new CopyBinaryDecoder(specs, {
      batchRows: 100,
      batchBytes: 1e9,
      cursorColumn: 0,
      typeOptions: { timestampUnit: 'us' },
      table: 'public.t',
    });
    assert.throws(
      () => dec.push(bad),
      (err: unknown) =>
        err instanceof UnsupportedValueError &&
        err.type === ErrorType.UnsupportedValue &&
        err.column === 'd' &&
        err.cursor === '42' &&
        err.value === 'infinity',
    );
  });

  test('numeric NaN is refused in a decimal column', () => {
    const bad = copyStream([
      [
        int8(7n),
        null,
        null,
        numeric('NaN'),
        null,
        null,
        null,
        null,
        float8(0),
        uuid('00000000-0000-0000-0000-000000000000'),
        null,
        null,
      ],
    ]);
    const dec = new CopyBinaryDecoder(specs, {
      batchRows: 100,
      batchBytes: 1e9,
      cursorColumn: 0,
      typeOptions: { timestampUnit: 'us' },
      table: 'public.t',
    });
    assert.throws(
      () => dec.push(bad),
      (err: unknown) => err instanceof UnsupportedValueError && err.column === 'dec',
    );
  });
});
