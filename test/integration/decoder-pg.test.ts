/**
 * Introspection, the type map and the binary COPY decoder against a real PostgreSQL: every
 * decoded type with edge values goes through `COPY (SELECT <selectExprs> …) TO STDOUT (FORMAT
 * binary)`, and each decoded value is compared with what PostgreSQL itself says about the same
 * row (text casts, extract(epoch), date arithmetic), never with the decoder's own output.
 *
 * DATABASE_URL comes from the environment, else from `scripts/stack.sh env`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { CopyOutStream } from '../../src/postgres/copy-out.js';
import { connect } from '../../src/postgres/connection.js';
import type { ColumnSpec } from '../../src/arrow/column-spec.js';
import type { TypeOptions } from '../../src/contract/type-options.js';
import { planColumns } from '../../src/arrow/type-map.js';
import {
  CopyBinaryDecoder,
  UnsupportedValueError,
  type DecodedBatch,
} from '../../src/postgres/copy-decoder.js';
import { quoteIdent, quoteQualified } from '../../src/contract/identifiers.js';
import { describeTable, TableNotFoundError } from '../../src/postgres/introspect.js';
import { rowsOf } from '../support/arrow-cells.js';

function databaseUrl(): string {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const script = fileURLToPath(new URL('../../scripts/stack.sh', import.meta.url));
  const out = execFileSync('bash', [script, 'env'], { encoding: 'utf8' });
  const m = /^export DATABASE_URL='([^']*)'$/m.exec(out);
  if (!m?.[1]) throw new Error('DATABASE_URL is not set and scripts/stack.sh env printed none');
  return m[1];
}

const SCHEMA = `decoder_it_${randomUUID().slice(0, 8)}`;
const S = quoteIdent(SCHEMA);
const BULK_ROWS = 5000;

let db: pg.Client;

/** Decodes `COPY (SELECT selectExprs FROM table ORDER BY id)`, as delivered and in 3-byte chunks. */
async function copyDecode(
  table: string,
  specs: readonly ColumnSpec[],
  typeOptions: TypeOptions,
  batchRows = 1000,
): Promise<{ batches: DecodedBatch[]; rowCount: number; decoded: number; rechunked: DecodedBatch[] }> {
  const idIndex = specs.findIndex((s) => s.name === 'id');
  const options = { batchRows, batchBytes: 8 << 20, cursorColumn: idIndex, typeOptions, table };
  const decoder = new CopyBinaryDecoder(specs, options);
  const sql = `COPY (SELECT ${specs.map((s) => s.selectExpr).join(', ')} FROM ${table} ORDER BY id) TO STDOUT (FORMAT binary)`;
  const stream = db.query(new CopyOutStream(sql));
  const batches: DecodedBatch[] = [];
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    batches.push(...decoder.push(chunk));
  }
  const last = decoder.finish();
  if (last) batches.push(last);
  const all = Buffer.concat(chunks);
  const again = new CopyBinaryDecoder(specs, options);
  const rechunked: DecodedBatch[] = [];
  for (let i = 0; i < all.length; i += 3) rechunked.push(...again.push(all.subarray(i, i + 3)));
  const tail = again.finish();
  if (tail) rechunked.push(tail);
  return { batches, rowCount: stream.rowCount, decoded: decoder.rowsDecoded, rechunked };
}

/** PostgreSQL's decimal text → the scaled integer of Decimal128(p, scale). */
function scaled(text: string, scale: number): bigint {
  const neg = text.startsWith('-');
  const [i = '0', f = ''] = text.replace('-', '').split('.');
  assert.ok(f.length <= scale, `${text} has at most ${scale} decimals`);
  const v = BigInt(i + f.padEnd(scale, '0'));
  return neg ? -v : v;
}

/** Equality of floats including NaN and -0. */
function sameFloat(actual: unknown, expected: number, what: string): void {
  assert.ok(Object.is(actual, expected), `${what}: got ${String(actual)}, PostgreSQL says ${expected}`);
}

before(async () => {
  db = new pg.Client({ connectionString: databaseUrl() });
  await db.connect();
  await db.query("SET client_encoding = 'UTF8'; SET extra_float_digits = 3");
  await db.query(`CREATE SCHEMA ${S}`);
  // citext: trusted since PostgreSQL 13; use it where it is, or install it in our schema.
  await db.query(`CREATE EXTENSION IF NOT EXISTS citext SCHEMA ${S}`);
  const ext = await db.query<{ nsp: string }>(
    "SELECT extnamespace::regnamespace::text AS nsp FROM pg_extension WHERE extname = 'citext'",
  );
  const citext = `${ext.rows[0]!.nsp}.citext`;
  await db.query(`
    CREATE TYPE ${S}.mood AS ENUM ('sad', 'ok', 'happy 😀');
    CREATE DOMAIN ${S}.money2 AS numeric(10,2);
    CREATE DOMAIN ${S}.money2_outer AS ${S}.money2 CHECK (VALUE > -1e9);
    CREATE TABLE ${S}.every_type (
      id bigint PRIMARY KEY,
      i2 smallint, i4 integer, i8 bigint,
      f4 real, f8 double precision,
      b boolean,
      dec38 numeric(38,0), dec_s numeric(20,5), amount ${S}.money2_outer, n numeric,
      t text, vc varchar(10), ch char(5), nm name, ci ${citext}, big text,
      by bytea, u uuid, js json, jb jsonb,
      d date, tm time, ts timestamp, tstz timestamptz,
      mood ${S}.mood, iv interval, ip inet,
      ta text[], ia integer[], ma ${S}.mood[], amounts ${S}.money2[], tsa timestamptz[]
    )`);
  await db.query(`SET TIME ZONE 'Asia/Kolkata'`);
  await db.query(`
    INSERT INTO ${S}.every_type VALUES
    (1, -32768, -2147483648, -9223372036854775808, 'NaN', '-Infinity', true,
     '-99999999999999999999999999999999999999', '-0.00010', '-12345678.90', '12345678901234567890.123456789',
     '😀 𝄞 text', '', 'ab', 'nm', 'MiXeD', repeat('é', 500000),
     '\\x00ff0000'::bytea, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{"a":  1}', '{"b": [1, 2, {"c": null}], "a": "é"}',
     '0001-01-01', '00:00:00', '0001-01-01 00:00:00', '1969-12-31 23:59:59.999999+00',
     'sad', '1 year 2 mons 3 days 04:05:06.789', '192.168.0.1/24',
     ARRAY['a', NULL, ''], '{}', '{sad,"happy 😀"}', '{1.50,NULL,-0.01}', ARRAY['2024-01-01 00:00:00+00']::timestamptz[]),
    (2, 32767, 2147483647, 9223372036854775807, 'Infinity', 'NaN', false,
     '99999999999999999999999999999999999999', '123456789012345.12345', '99999999.99', 'NaN',
     '', 'ten chars!', 'abcde', '', '', '',
     '\\x'::bytea, '00000000-0000-0000-0000-000000000000', '[]', '{}',
     '9999-12-31', '24:00:00', '2024-02-29 12:34:56.789012', '2024-06-01 12:00:00.123456',
     'happy 😀', '-1 days +00:00:00.000001', '::1',
     '{}', '{2147483647,NULL,-2147483648}', '{}', '{}', '{}'),
    (3, 0, 0, 0, '-0', '-0', NULL,
     '0', '0.00000', '0.00', '-0.000000000000000000001',
     NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, 'null',
     '4713-01-01 BC', '23:59:59.999999', '4713-01-01 00:00:00 BC', '1970-01-01 00:00:00.000001+00',
     NULL, NULL, NULL,
     ARRAY[NULL]::text[], NULL, NULL, NULL, ARRAY[NULL, '1999-12-31 23:59:59.9995+00']::timestamptz[]),
    (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
  await db.query(`
    INSERT INTO ${S}.every_type (id, i2, i4, i8, f4, f8, b, dec38, dec_s, amount, n, t, vc, by, u, jb, d, tm, ts, tstz, ia, ta)
    SELECT 100 + g, (g % 30000)::int2, g * 7919 - 20000000, g::int8 * 1000000007 * (CASE WHEN g % 2 = 0 THEN 1 ELSE -1 END),
           g / 7.0, g / 3.0, g % 3 = 0,
           (g::numeric ^ 9)::numeric(38,0), round(g / 9.0, 5), round(g / 3.0 - 2000, 2), (g::numeric / 7) ^ 3,
           'row ' || g || repeat('ü', g % 50), left(md5(g::text), g % 11), decode(md5(g::text), 'hex'),
           md5(g::text)::uuid, jsonb_build_object('g', g, 's', repeat('x', g % 20)),
           date '1960-01-01' + g * 7, make_time(g % 24, g % 60, (g % 60) + 0.000001 * (g % 1000)),
           timestamp '1950-01-01' + g * interval '1 day 1 second 1 microsecond',
           timestamptz '2000-01-01 00:00:00+00' - g * interval '3 hours 0.5 seconds',
           CASE WHEN g % 4 = 0 THEN '{}' ELSE ARRAY[g, NULL, -g] END,
           CASE WHEN g % 5 = 0 THEN NULL ELSE ARRAY['x' || g, NULL] END
      FROM generate_series(1, ${BULK_ROWS}) AS g
     WHERE g % 97 <> 0`);
  await db.query(`SET TIME ZONE 'UTC'`);
});

after(async () => {
  if (!db) return;
  await db.query(`DROP SCHEMA IF EXISTS ${S} CASCADE`).catch(() => undefined);
  await db.end();
});

describe('decoder against PostgreSQL', () => {
  test('transform.timeAs: time, text and µs since midnight, arrays too, equal PostgreSQL', async () => {
    await db.query(`CREATE TABLE ${S}.times (id int PRIMARY KEY, tm time, tz timetz, tms time[])`);
    await db.query(`INSERT INTO ${S}.times VALUES
      (1, '00:00:00', '00:00:00+00', '{00:00:01,NULL}'),
      (2, '23:59:59.999999', '23:59:59.999999-07', '{}'),
      (3, '24:00:00', '12:34:56.5+05:30', NULL),
      (4, '12:34:56.123', NULL, '{12:00:00.25}'),
      (5, NULL, NULL, NULL)`);
    const cols = await describeTable(db, SCHEMA, 'times');
    const want = await db.query<Record<string, string | null>>(`
      SELECT tm::text, tz::text, (extract(epoch FROM tm) * 1000000)::int8::text AS us,
             array_to_json(tms::text[])::text AS tms,
             (SELECT json_agg((extract(epoch FROM x) * 1000000)::int8::text ORDER BY o)
                FROM unnest(tms) WITH ORDINALITY AS u(x, o))::text AS tms_us
        FROM ${S}.times ORDER BY id`);
    const table = quoteQualified(SCHEMA, 'times');
    const expected = {
      string: { tm: 'Utf8', tms: 'List<Utf8>', tm0: (w: Record<string, string | null>) => w.tm },
      time: { tm: 'Time64(us)', tms: 'List<Time64(us)>', tm0: (w: Record<string, string | null>) => w.us },
      micros: { tm: 'Int64', tms: 'List<Int64>', tm0: (w: Record<string, string | null>) => w.us },
    } as const;
    for (const timeAs of ['string', 'time', 'micros'] as const) {
      const specs = planColumns(cols, { timestampUnit: 'us', timeAs });
      const arrow = Object.fromEntries(specs.map((s) => [s.name, s.arrowType]));
      assert.equal(arrow.tm, expected[timeAs].tm, timeAs);
      assert.equal(arrow.tms, expected[timeAs].tms, timeAs);
      assert.equal(arrow.tz, 'Utf8', 'timetz is always its text form');
      const got = rowsOf(
        (await copyDecode(table, specs, { timestampUnit: 'us', timeAs })).batches.map((b) => b.batch),
      );
      want.rows.forEach((w, r) => {
        const g = got[r]!;
        const tm = expected[timeAs].tm0(w);
        assert.deepEqual(
          g.tm,
          tm === null || tm === undefined ? null : timeAs === 'string' ? tm : BigInt(tm),
          `${timeAs} row ${r}`,
        );
        assert.equal(g.tz, w.tz);
        // An empty array has no elements to aggregate: json_agg gives NULL, the array is [].
        const list = timeAs === 'string' ? w.tms : (w.tms_us ?? (w.tms === null ? null : '[]'));
        const items = list === null || list === undefined ? null : (JSON.parse(list) as (string | null)[]);
        const cell = (x: string | null) => (x === null || timeAs === 'string' ? x : BigInt(x));
        assert.deepEqual(g.tms, items?.map(cell) ?? null, `${timeAs} row ${r} tms`);
      });
    }
    assert.equal(want.rows[2]!.tm, '24:00:00', 'PostgreSQL allows 24:00:00; the text keeps it');
  });

  test('describeTable resolves domains, enums, arrays and typmods', async () => {
    const cols = await describeTable(db, SCHEMA, 'every_type');
    const by = Object.fromEntries(cols.map((c) => [c.name, c]));
    assert.equal(cols[0]!.name, 'id');
    assert.equal(cols.length, 33);
    assert.equal(by.id!.notNull, true);
    assert.equal(by.i2!.notNull, false);
    assert.equal(by.amount!.typeOid, 1700, 'domain over a domain over numeric');
    assert.equal(by.amount!.typmod, ((10 << 16) | 2) + 4);
    assert.equal(by.amount!.pgType, `${SCHEMA}.money2_outer`);
    assert.equal(by.mood!.typtype, 'e');
    assert.equal(by.ci!.typeName, 'citext');
    assert.equal(by.ma!.elementTyptype, 'e');
    assert.equal(by.amounts!.elementOid, 1700, 'array of a domain: element resolved');
    assert.equal(by.amounts!.typmod, ((10 << 16) | 2) + 4, 'with the domain typmod');
    assert.equal(by.dec_s!.pgType, 'numeric(20,5)');
    assert.equal(by.ia!.elementOid, 23);
    assert.equal(by.tstz!.pgType, 'timestamp with time zone');

    const specs = planColumns(cols, { timestampUnit: 'us', timeAs: 'time' });
    const arrow = Object.fromEntries(specs.map((s) => [s.name, s.arrowType]));
    assert.equal(arrow.amount, 'Decimal128(10,2)');
    assert.equal(arrow.dec38, 'Decimal128(38,0)');
    assert.equal(arrow.n, 'Utf8');
    assert.equal(arrow.amounts, 'List<Decimal128(10,2)>');
    assert.equal(arrow.ma, 'List<Utf8>');
    assert.equal(arrow.tstz, 'Timestamp(us, UTC)');
    assert.equal(arrow.ts, 'Timestamp(us)');
    assert.equal(arrow.d, 'Date32');
    assert.equal(arrow.tm, 'Time64(us)');
    assert.equal(specs.find((s) => s.name === 'iv')!.selectExpr, '"iv"::text');
  });

  test('every value equals what PostgreSQL says', async () => {
    const table = quoteQualified(SCHEMA, 'every_type');
    const specs = planColumns(await describeTable(db, SCHEMA, 'every_type'), {
      timestampUnit: 'us',
      timeAs: 'time',
    });
    const { batches, rowCount, decoded, rechunked } = await copyDecode(table, specs, { timestampUnit: 'us' });
    const got = rowsOf(batches.map((b) => b.batch));
    assert.equal(rowCount, decoded, 'stream.rowCount equals rows decoded');
    assert.equal(got.length, rowCount);
    assert.ok(batches.length >= 5, 'several batches');
    assert.deepEqual(rowsOf(rechunked.map((b) => b.batch)), got, '3-byte chunks decode identically');

    const want = await db.query<Record<string, string | null>>(`
      SELECT id::text, i2::text, i4::text, i8::text, f4::text, f8::text, b::text,
             dec38::text, dec_s::text, amount::text, n::text,
             t, vc, ch, nm::text, ci::text, big, encode(by, 'hex') AS by, u::text, js::text, jb::text,
             (d - date '1970-01-01')::text AS d,
             (extract(epoch FROM tm) * 1000000)::int8::text AS tm,
             (extract(epoch FROM ts) * 1000000)::int8::text AS ts,
             (extract(epoch FROM tstz) * 1000000)::int8::text AS tstz,
             mood::text, iv::text, ip::text,
             array_to_json(ta)::text AS ta, array_to_json(ia)::text AS ia, array_to_json(ma)::text AS ma,
             array_to_json(amounts::text[])::text AS amounts,
             CASE WHEN tsa IS NOT NULL THEN coalesce(
               (SELECT json_agg((extract(epoch FROM x) * 1000000)::int8::text ORDER BY o)
                  FROM unnest(tsa) WITH ORDINALITY AS u(x, o)), '[]')::text END AS tsa
        FROM ${table} AS src ORDER BY src.id`);
    assert.equal(want.rows.length, got.length);
    want.rows.forEach((w, r) => {
      const g = got[r]!;
      const at = `row id=${w.id}`;
      const eq = (name: string, expected: unknown) => assert.deepEqual(g[name], expected, `${at} ${name}`);
      const opt = <T>(v: string | null | undefined, f: (s: string) => T): T | null =>
        v === null || v === undefined ? null : f(v);
      eq('id', BigInt(w.id!));
      eq('i2', opt(w.i2, Number));
      eq('i4', opt(w.i4, Number));
      eq('i8', opt(w.i8, BigInt));
      if (w.f4 === null) eq('f4', null);
      else sameFloat(g.f4, Math.fround(Number(w.f4)), `${at} f4`);
      if (w.f8 === null) eq('f8', null);
      else sameFloat(g.f8, Number(w.f8), `${at} f8`);
      eq(
        'b',
        opt(w.b, (s) => s === 'true'),
      );
      eq(
        'dec38',
        opt(w.dec38, (s) => scaled(s, 0)),
      );
      eq(
        'dec_s',
        opt(w.dec_s, (s) => scaled(s, 5)),
      );
      eq(
        'amount',
        opt(w.amount, (s) => scaled(s, 2)),
      );
      for (const name of [
        'n',
        't',
        'vc',
        'ch',
        'nm',
        'ci',
        'big',
        'by',
        'u',
        'js',
        'jb',
        'mood',
        'iv',
        'ip',
      ]) {
        eq(name, w[name]);
      }
      eq('d', opt(w.d, Number));
      for (const name of ['tm', 'ts', 'tstz']) eq(name, opt(w[name], BigInt));
      eq('ta', opt(w.ta, JSON.parse));
      eq('ia', opt(w.ia, JSON.parse));
      eq('ma', opt(w.ma, JSON.parse));
      eq(
        'amounts',
        opt(w.amounts, (s) =>
          (JSON.parse(s) as (string | null)[]).map((x) => (x === null ? null : scaled(x, 2))),
        ),
      );
      eq(
        'tsa',
        opt(w.tsa, (s) => (JSON.parse(s) as (string | null)[]).map((x) => (x === null ? null : BigInt(x)))),
      );
    });
    // Spot checks of the edge rows, in plain words.
    assert.equal(got[0]!.tstz, -1n, '1969-12-31 23:59:59.999999+00 is -1 µs');
    assert.equal(got[0]!.d, -719162, '0001-01-01');
    assert.equal((got[0]!.big as string).length, 500000);
    assert.equal(got[0]!.by, '00ff0000');
    assert.equal(got[0]!.u, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'canonical lower case');
    assert.equal(got[1]!.ch, 'abcde');
    assert.equal(got[0]!.ch, 'ab   ', 'char(5) keeps its padding');
    assert.equal(got[0]!.n, '12345678901234567890.123456789');
    assert.equal(got[2]!.n, '-0.000000000000000000001');
    assert.equal(got[1]!.n, 'NaN');
    assert.deepEqual(
      batches.map((b) => b.cursorFirst)[0],
      '1',
      'cursor of the first row, as a decimal string',
    );
  });

  test('timestampUnit ms floors every timestamp toward -infinity; the cursor stays exact', async () => {
    const table = quoteQualified(SCHEMA, 'every_type');
    const opts: TypeOptions = { timestampUnit: 'ms' };
    const specs = planColumns(await describeTable(db, SCHEMA, 'every_type'), opts);
    assert.equal(specs.find((s) => s.name === 'tstz')!.arrowType, 'Timestamp(ms, UTC)');
    const { batches } = await copyDecode(table, specs, opts);
    const got = rowsOf(batches.map((b) => b.batch));
    const want = await db.query<{ ts: string | null; tstz: string | null }>(`
      SELECT floor(extract(epoch FROM ts) * 1000)::int8::text AS ts,
             floor(extract(epoch FROM tstz) * 1000)::int8::text AS tstz
        FROM ${table} ORDER BY id`);
    want.rows.forEach((w, r) => {
      assert.equal(got[r]!.ts, w.ts === null ? null : BigInt(w.ts), `row ${r} ts`);
      assert.equal(got[r]!.tstz, w.tstz === null ? null : BigInt(w.tstz), `row ${r} tstz`);
    });
    assert.equal(got[0]!.tstz, -1n, '-1 µs floors to -1 ms');
  });

  test('timestamp and date cursors are in their integer form (µs / days since 1970)', async () => {
    const table = quoteQualified(SCHEMA, 'every_type');
    const cols = (await describeTable(db, SCHEMA, 'every_type')).filter((c) => ['ts', 'd'].includes(c.name));
    for (const unit of ['us', 'ms'] as const) {
      const specs = planColumns(cols, { timestampUnit: unit });
      for (const [index, name] of [
        [0, 'd'],
        [1, 'ts'],
      ] as const) {
        const decoder = new CopyBinaryDecoder(specs, {
          batchRows: 100,
          batchBytes: 1 << 30,
          cursorColumn: index,
          typeOptions: { timestampUnit: unit },
          table,
        });
        const order = `${quoteIdent(name)} NULLS FIRST, id`;
        const stream = db.query(
          new CopyOutStream(
            `COPY (SELECT "d", "ts" FROM ${table} ORDER BY ${order}) TO STDOUT (FORMAT binary)`,
          ),
        );
        const batches: DecodedBatch[] = [];
        for await (const chunk of stream as AsyncIterable<Buffer>) batches.push(...decoder.push(chunk));
        const last = decoder.finish();
        if (last) batches.push(last);
        const form =
          name === 'd'
            ? `("d" - date '1970-01-01')::text`
            : `(extract(epoch FROM "ts") * 1000000)::int8::text`;
        const want = await db.query<{ v: string | null }>(
          `SELECT ${form} AS v FROM ${table} ORDER BY ${order}`,
        );
        const firsts = batches.map((_, k) => want.rows[k * 100]!.v);
        const lasts = batches.map((b, k) => want.rows[k * 100 + b.rows - 1]!.v);
        assert.deepEqual(
          batches.map((b) => b.cursorFirst),
          firsts,
          `${name} first (${unit})`,
        );
        assert.deepEqual(
          batches.map((b) => b.cursorLast),
          lasts,
          `${name} last (${unit})`,
        );
      }
    }
  });

  test('quoted identifiers: a table and a column with quotes, spaces and capitals', async () => {
    await db.query(`CREATE TABLE ${S}."we""ird Table" (id int PRIMARY KEY, "Mixed ""Col""" text)`);
    await db.query(`INSERT INTO ${S}."we""ird Table" VALUES (1, 'x'), (2, NULL)`);
    const cols = await describeTable(db, SCHEMA, 'we"ird Table');
    assert.deepEqual(
      cols.map((c) => c.name),
      ['id', 'Mixed "Col"'],
    );
    const specs = planColumns(cols, { timestampUnit: 'us', timeAs: 'time' });
    assert.equal(specs[1]!.selectExpr, '"Mixed ""Col"""');
    const { batches, rowCount } = await copyDecode(quoteQualified(SCHEMA, 'we"ird Table'), specs, {
      timestampUnit: 'us',
    });
    assert.equal(rowCount, 2);
    assert.deepEqual(rowsOf(batches.map((b) => b.batch)), [
      { id: 1, 'Mixed "Col"': 'x' },
      { id: 2, 'Mixed "Col"': null },
    ]);
  });

  test('a missing relation is a TableNotFoundError', async () => {
    for (const name of ['no_such_table', 'Every_Type', 'x"; DROP TABLE y; --']) {
      await assert.rejects(
        () => describeTable(db, SCHEMA, name),
        (err: unknown) =>
          err instanceof TableNotFoundError && err.type === 'PgParquetTableNotFound' && !err.retryable,
      );
    }
    await assert.rejects(() => describeTable(db, 'no_such_schema', 'every_type'), TableNotFoundError);
  });

  test('values Parquet cannot hold fail with the column, the row cursor and the option', async () => {
    await db.query(`
      CREATE TABLE ${S}.bad (id bigint PRIMARY KEY, d date, ts timestamptz, amount numeric(10,2), ia int[]);
      INSERT INTO ${S}.bad VALUES (1, '2020-01-01', '2020-01-01', 1, '{1}')`);
    const table = quoteQualified(SCHEMA, 'bad');
    const cases: [string, string, string, string, 'us' | 'ms'][] = [
      ['d', "'infinity'", 'infinity', 'transform.infinity', 'us'],
      ['d', "'-infinity'", '-infinity', 'transform.infinity', 'us'],
      ['ts', "'-infinity'", '-infinity', 'transform.infinity', 'ms'],
      ['ts', "'294276-12-31 23:59:59.999999+00'", '9223371331199999999', 'transform.timestampUnit', 'us'],
      ['amount', "'NaN'", 'NaN', 'transform.numericAsString', 'us'],
      ['ia', "'{{1,2},{3,4}}'", '2-dimensional', 'transform.arraysAsText', 'us'],
    ];
    for (const [column, literal, value, option, unit] of cases) {
      await db.query(`DELETE FROM ${table} WHERE id > 1`);
      await db.query(`INSERT INTO ${table} (id, ${quoteIdent(column)}) VALUES (42, ${literal})`);
      const opts: TypeOptions = { timestampUnit: unit };
      const specs = planColumns(await describeTable(db, SCHEMA, 'bad'), opts);
      await assert.rejects(
        () => copyDecode(table, specs, opts),
        (err: unknown) => {
          assert.ok(err instanceof UnsupportedValueError, String(err));
          assert.equal(err.column, column);
          assert.equal(err.cursor, '42');
          assert.equal(err.option, option);
          assert.ok(err.value.includes(value), `${err.value} mentions ${value}`);
          assert.match(err.message, new RegExp(`${SCHEMA}.*${column}.*42`));
          return true;
        },
        `${column} = ${literal}`,
      );
    }
    // The same timestamp is fine in milliseconds.
    await db.query(`DELETE FROM ${table} WHERE id > 1`);
    await db.query(`INSERT INTO ${table} (id, ts) VALUES (42, '294276-12-31 23:59:59.999999+00')`);
    const opts: TypeOptions = { timestampUnit: 'ms' };
    const { batches } = await copyDecode(
      table,
      planColumns(await describeTable(db, SCHEMA, 'bad'), opts),
      opts,
    );
    assert.equal(rowsOf(batches.map((b) => b.batch))[1]!.ts, 9_224_318_015_999_999n);
  });
  test('the transform options accept what they name, exactly as PostgreSQL states it', async () => {
    await db.query(`
      CREATE TABLE ${S}.opts (id bigint PRIMARY KEY, d date NOT NULL, ts timestamptz, tsa timestamp[],
                              amount numeric(10,2), free numeric, ia int[]);
      INSERT INTO ${S}.opts VALUES
        (1, '2020-01-01', '2020-01-01 12:00+00', '{"2020-01-01 00:00:00"}', 1.25, 1.5, '{1}'),
        (2, 'infinity', '-infinity', '{infinity,NULL,-infinity}', 'NaN', -12345.6789, '{5}'),
        (3, '-infinity', 'infinity', '{}', NULL, 0.0001, '{}')`);
    const table = quoteQualified(SCHEMA, 'opts');
    const cols = await describeTable(db, SCHEMA, 'opts');
    // What PostgreSQL says the clamp limits are, in the decoder's units (days / µs since 1970).
    const limits = (
      await db.query<{ dmax: number; dmin: number; tmax: string; tmin: string }>(`
        SELECT '9999-12-31'::date - '1970-01-01'::date AS dmax, '0001-01-01'::date - '1970-01-01'::date AS dmin,
               (extract(epoch FROM timestamptz '9999-12-31 23:59:59.999999+00') * 1000000)::bigint::text AS tmax,
               (extract(epoch FROM timestamptz '0001-01-01 00:00:00+00') * 1000000)::bigint::text AS tmin`)
    ).rows[0]!;
    const pgText = async () =>
      (
        await db.query<{ amount: string | null; ia: string; tsa: string }>(
          `SELECT amount::text, ia::text, tsa::text FROM ${table} ORDER BY id`,
        )
      ).rows;

    const nullOpts: TypeOptions = {
      timestampUnit: 'us',
      infinity: 'null',
      numericAsString: true,
    };
    const nullSpecs = planColumns(cols, nullOpts);
    assert.equal(
      nullSpecs.find((c) => c.name === 'd')!.nullable,
      true,
      'infinity "null" makes NOT NULL dates nullable',
    );
    const nulled = rowsOf((await copyDecode(table, nullSpecs, nullOpts)).batches.map((b) => b.batch));
    assert.deepEqual(
      nulled.map((r) => [r.d, r.ts]),
      [
        [18262, 1577880000000000n],
        [null, null],
        [null, null],
      ],
    );
    assert.deepEqual(nulled[1]!.tsa, [null, null, null]);
    // numericAsString: PostgreSQL's own text of each value, NaN included.
    assert.deepEqual(
      nulled.map((r) => r.amount),
      (await pgText()).map((r) => r.amount),
    );

    const clampOpts: TypeOptions = {
      timestampUnit: 'us',
      infinity: 'clamp',
      numericAsString: true,
    };
    const clampSpecs = planColumns(cols, clampOpts);
    assert.equal(clampSpecs.find((c) => c.name === 'd')!.nullable, false);
    const clamped = rowsOf((await copyDecode(table, clampSpecs, clampOpts)).batches.map((b) => b.batch));
    assert.deepEqual(
      clamped.map((r) => [r.d, r.ts]),
      [
        [18262, 1577880000000000n],
        [limits.dmax, BigInt(limits.tmin)],
        [limits.dmin, BigInt(limits.tmax)],
      ],
    );
    assert.deepEqual(clamped[1]!.tsa, [BigInt(limits.tmax), null, BigInt(limits.tmin)]);
    // ms: the same limits, floored to milliseconds.
    const msOpts: TypeOptions = { ...clampOpts, timestampUnit: 'ms' };
    const ms = rowsOf(
      (await copyDecode(table, planColumns(cols, msOpts), msOpts)).batches.map((b) => b.batch),
    );
    assert.deepEqual(
      ms.map((r) => r.ts),
      [1577880000000n, BigInt(limits.tmin) / 1000n, BigInt(limits.tmax) / 1000n],
    );

    // A clamped cursor value is no resume point: the batch reports no cursor for it.
    const tsIndex = clampSpecs.findIndex((c) => c.name === 'ts');
    const dec = new CopyBinaryDecoder(clampSpecs, {
      batchRows: 2,
      batchBytes: 1 << 20,
      cursorColumn: tsIndex,
      typeOptions: clampOpts,
      table,
    });
    const sql = `COPY (SELECT ${clampSpecs.map((c) => c.selectExpr).join(', ')} FROM ${table} ORDER BY id) TO STDOUT (FORMAT binary)`;
    const spans: [string | null, string | null][] = [];
    for await (const chunk of db.query(new CopyOutStream(sql)) as AsyncIterable<Buffer>) {
      for (const b of dec.push(chunk)) spans.push([b.cursorFirst, b.cursorLast]);
    }
    const tail = dec.finish();
    if (tail) spans.push([tail.cursorFirst, tail.cursorLast]);
    assert.deepEqual(spans, [
      ['1577880000000000', null],
      [null, null],
    ]);

    // arraysAsText: a multi-dimensional array (refused as a List) as PostgreSQL prints it.
    await db.query(`UPDATE ${table} SET ia = '{{1,2},{3,4}}' WHERE id = 2`);
    const textOpts: TypeOptions = {
      timestampUnit: 'us',
      infinity: 'null',
      numericAsString: true,
      arraysAsText: true,
    };
    const texts = rowsOf(
      (await copyDecode(table, planColumns(cols, textOpts), textOpts)).batches.map((b) => b.batch),
    );
    assert.deepEqual(
      texts.map((r) => [r.ia, r.tsa]),
      (await pgText()).map((r) => [r.ia, r.tsa]),
    );

    // unconstrainedNumeric "decimal(P,S)": exact, or the batch fails; never rounded.
    const decOpts: TypeOptions = {
      timestampUnit: 'us',
      infinity: 'null',
      numericAsString: false,
      arraysAsText: true,
      unconstrainedNumeric: { precision: 12, scale: 4 },
    };
    const decSpecs = planColumns(cols, decOpts);
    assert.equal(decSpecs.find((c) => c.name === 'free')!.arrowType, 'Decimal128(12,4)');
    await db.query(`UPDATE ${table} SET amount = 0 WHERE id = 2`);
    const exact = rowsOf((await copyDecode(table, decSpecs, decOpts)).batches.map((b) => b.batch));
    const freeText = (await db.query<{ f: string }>(`SELECT free::text AS f FROM ${table} ORDER BY id`)).rows;
    assert.deepEqual(
      exact.map((r) => r.free),
      freeText.map((r) => scaled(r.f, 4)),
    );
    await db.query(`UPDATE ${table} SET free = 1.23456 WHERE id = 3`);
    await assert.rejects(
      () => copyDecode(table, decSpecs, decOpts),
      (err: unknown) => err instanceof UnsupportedValueError && err.column === 'free' && err.cursor === '3',
    );
  });

  /**
   * The COPY-out stream on `client`: the row count at its end, a failing row fails it with its
   * SQLSTATE, a reader that stops early leaves the connection usable, and the data is the same
   * bytes that node-postgres's own socket receives (`reference`, read over `db`).
   */
  async function copyOutChecks(
    client: pg.Client,
    reference: Buffer | null,
  ): Promise<{ data: Buffer; buffers: Set<ArrayBufferLike> }> {
    const table = `${S}.copy_out_rows`;
    const read = async (
      sql: string,
    ): Promise<{ data: Buffer; rowCount: number; buffers: Set<ArrayBufferLike> }> => {
      const stream = client.query(new CopyOutStream(sql));
      const parts: Buffer[] = [];
      const buffers = new Set<ArrayBufferLike>();
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        buffers.add(chunk.buffer);
        // A chunk is valid until the next one is asked for: kept bytes are copied.
        parts.push(Buffer.from(chunk));
      }
      return { data: Buffer.concat(parts), rowCount: stream.rowCount, buffers };
    };
    const sql = `COPY (SELECT id, v FROM ${table} ORDER BY id) TO STDOUT (FORMAT binary)`;
    const ok = await read(sql);
    assert.equal(ok.rowCount, 20000);
    const expected = await client.query<{ n: string }>(
      `SELECT (19 + 2 + sum(2 + 4 + 8 + 4 + length(v)))::text AS n FROM ${table}`,
    );
    assert.equal(
      ok.data.length,
      Number(expected.rows[0]!.n),
      'signature/header + rows + trailer, no protocol byte',
    );
    if (reference) assert.ok(ok.data.equals(reference), "the same COPY bytes as over node-postgres's socket");
    // Row 15000 divides by zero after thousands of rows were sent: the stream fails with 22012.
    await assert.rejects(
      () => read(`COPY (SELECT id, 1 / (id - 15000) FROM ${table} ORDER BY id) TO STDOUT (FORMAT binary)`),
      (err: unknown) => (err as { code?: string }).code === '22012',
    );
    const after = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
    assert.equal(after.rows[0]!.n, '20000');
    // A reader that stops after its first chunk: the rest is drained, the connection works on.
    const early = client.query(new CopyOutStream(sql));
    for await (const chunk of early as AsyncIterable<Buffer>) {
      assert.ok(chunk.length > 0);
      break;
    }
    assert.equal((await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1);
    // A second COPY on the same connection works as the first did.
    const again = await read(`COPY ${table} TO STDOUT (FORMAT binary)`);
    assert.equal(again.rowCount, 20000);
    return { data: ok.data, buffers: ok.buffers };
  }

  test('the COPY-out stream: the row count at its end, a failing row fails it with its SQLSTATE, the connection stays usable', async () => {
    const table = `${S}.copy_out_rows`;
    await db.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, v text)`);
    await db.query(
      `INSERT INTO ${table} SELECT g, repeat('x', (g % 50)::int) FROM generate_series(1, 20000) g`,
    );
    // node-postgres's own socket (as over TLS): a fresh buffer per read.
    const reference = await copyOutChecks(db, null);
    assert.ok(reference.buffers.size > 1, 'node-postgres: a new buffer per read');
    // Our connections read into one buffer of their own (read-buffer-socket.ts): every chunk is
    // a view of it, and the bytes are the same.
    const own = await connect({ connectionString: databaseUrl() });
    try {
      const { buffers } = await copyOutChecks(own, reference.data);
      assert.equal(buffers.size, 1, 'one read buffer');
    } finally {
      await own.end();
    }
  });
});
