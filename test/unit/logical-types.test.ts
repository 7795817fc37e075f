/**
 * The UUID and JSON logical types written into parquet-wasm's footers (src/parquet/logical-types.ts),
 * checked with an independent reader (hyparquet): the annotations of top-level and list-element
 * columns from every writer entry point, the values unchanged, and the refusals of annotations a
 * column's physical type cannot carry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Field,
  FixedSizeBinary,
  List,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { parquetMetadata, parquetReadObjects, type FileMetaData, type SchemaElement } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { encodeParquetIpc } from '../../src/parquet/encode-ipc.js';
import { createParquetStream, toIpcStream, writeParquetFile } from '../../src/parquet/writer.js';
import { logicalTypeAnnotations } from '../../src/parquet/logical-type-annotations.js';
import { annotateLogicalTypes } from '../../src/parquet/logical-types.js';
import { ParquetFormatError } from '../../src/parquet/format-error.js';
import { EXTENSION_NAME_KEY } from '../../src/arrow/column-spec.js';

const ext = (name: string) => new Map([[EXTENSION_NAME_KEY, name]]);
const uuidType = new FixedSizeBinary(16);
const schema = new Schema([
  new Field('u', uuidType, true, ext('arrow.uuid')),
  new Field('j', new Utf8(), true, ext('arrow.json')),
  new Field('us', new List(new Field('item', uuidType, true, ext('arrow.uuid'))), true),
  new Field('plain', uuidType, true),
  new Field('other', new Utf8(), true, ext('some.extension')),
]);

/** `rows` rows: uuid bytes i·16 … i·16+15, JSON `{"i":i}`, a one-element list of the same uuid. */
function batch(rows: number): RecordBatch {
  // One Data per column: apache-arrow's IPC writer garbles a Data used by two columns.
  const uuids = () =>
    makeData({ type: uuidType, length: rows, data: new Uint8Array(16 * rows).map((_, i) => i & 0xff) });
  const u = uuids();
  const j = vectorFromArray(
    Array.from({ length: rows }, (_, i) => `{"i":${i}}`),
    new Utf8(),
  ).data[0]!;
  const us = makeData({
    type: schema.fields[2]!.type as List<FixedSizeBinary>,
    length: rows,
    valueOffsets: Int32Array.from({ length: rows + 1 }, (_, i) => i),
    child: uuids(),
  });
  const other = vectorFromArray(
    Array.from({ length: rows }, () => 'x'),
    new Utf8(),
  ).data[0]!;
  return new RecordBatch(
    schema,
    makeData({ type: new Struct(schema.fields), length: rows, children: [u, j, us, uuids(), other] }),
  );
}

/** The bytes in an ArrayBuffer of their own, as hyparquet takes them. */
function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer;
}

function elements(file: Uint8Array): SchemaElement[] {
  const meta: FileMetaData = parquetMetadata(arrayBufferOf(file));
  return meta.schema;
}

/** Each leaf's logical type (the list element as `us.item`), from hyparquet. */
function leafTypes(file: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const els = elements(file);
  for (const [i, el] of els.entries()) {
    if (el.num_children) continue;
    const name = el.name === 'item' ? `${els[i - 2]!.name}.item` : el.name;
    out[name] =
      `${el.type}${el.type_length ? `(${el.type_length})` : ''} ${el.logical_type?.type ?? '-'}${el.converted_type ? ` ${el.converted_type}` : ''}`;
  }
  return out;
}

const EXPECTED = {
  u: 'FIXED_LEN_BYTE_ARRAY(16) UUID',
  j: 'BYTE_ARRAY JSON JSON',
  'us.item': 'FIXED_LEN_BYTE_ARRAY(16) UUID',
  plain: 'FIXED_LEN_BYTE_ARRAY(16) -',
  other: 'BYTE_ARRAY STRING UTF8',
};

const opts = { compression: 'zstd', rowGroupRows: 100 } as const;

test('logicalTypeAnnotations: the arrow.uuid and arrow.json leaves, list elements by their Parquet path', () => {
  assert.deepEqual(logicalTypeAnnotations(schema), [
    { path: ['u'], type: 'UUID' },
    { path: ['j'], type: 'JSON' },
    { path: ['us', 'list', 'item'], type: 'UUID' },
  ]);
});

test('every writer entry point annotates UUID and JSON, and the values read back unchanged', async () => {
  const whole = writeParquetFile([batch(250)], schema, opts);
  const ipc = encodeParquetIpc(toIpcStream(schema, [batch(250)]), {
    ...opts,
    logicalTypes: logicalTypeAnnotations(schema),
  });
  const chunks: Uint8Array[] = [];
  async function* source() {
    yield batch(120);
    yield batch(130);
  }
  for await (const c of createParquetStream(schema, source(), opts)) chunks.push(c);
  const streamed = Buffer.concat(chunks);
  const empty = writeParquetFile([], schema, opts);
  for (const [name, file] of Object.entries({ whole, ipc, streamed, empty })) {
    assert.deepEqual(leafTypes(file), EXPECTED, name);
  }
  assert.deepEqual(Buffer.from(ipc), Buffer.from(whole), 'the thread encoder writes the same bytes');
  const rows = await parquetReadObjects({
    file: arrayBufferOf(whole),
    compressors,
    columns: ['u', 'j'],
  });
  assert.equal(rows.length, 250);
  const u7 = rows[7]!.u as Uint8Array | string;
  // hyparquet renders a UUID column as its canonical text.
  assert.equal(
    typeof u7 === 'string' ? u7.replaceAll('-', '') : Buffer.from(u7).toString('hex'),
    Buffer.from(Array.from({ length: 16 }, (_, i) => (7 * 16 + i) & 0xff)).toString('hex'),
  );
  // A JSON column is parsed by hyparquet: it honours the annotation.
  assert.deepEqual(rows[249]!.j, { i: 249 });
});

test('annotateLogicalTypes refuses what a column cannot carry, and leaves a file without annotations as it is', () => {
  const plain = new Schema([new Field('s', new Utf8(), true), new Field('b', uuidType, true)]);
  const file = writeParquetFile([], plain, opts);
  assert.equal(annotateLogicalTypes(file, []), file);
  assert.throws(() => annotateLogicalTypes(file, [{ path: ['s'], type: 'UUID' }]), ParquetFormatError);
  assert.throws(() => annotateLogicalTypes(file, [{ path: ['b'], type: 'JSON' }]), ParquetFormatError);
  assert.throws(() => annotateLogicalTypes(file, [{ path: ['nope'], type: 'JSON' }]), ParquetFormatError);
  assert.throws(
    () => annotateLogicalTypes(new Uint8Array(20), [{ path: ['s'], type: 'JSON' }]),
    ParquetFormatError,
  );
  assert.deepEqual(leafTypes(annotateLogicalTypes(file, [{ path: ['b'], type: 'UUID' }])), {
    s: 'BYTE_ARRAY STRING UTF8',
    b: 'FIXED_LEN_BYTE_ARRAY(16) UUID',
  });
});
