/**
 * Parquet logical types that parquet-wasm 0.8.0 cannot write: UUID and JSON. arrow-rs maps the
 * canonical Arrow extension types `arrow.uuid` (FixedSizeBinary(16)) and `arrow.json` (Utf8) to
 * them only when built with its `arrow_canonical_extension_types` feature, and parquet-wasm's
 * build is not (its WASM holds neither name, and a field carrying `ARROW:extension:name` is
 * written as a bare FIXED_LEN_BYTE_ARRAY / a STRING). So the writer writes the file as usual and
 * this module rewrites only its footer: the annotated columns' SchemaElements get the logical
 * type (and JSON its converted type), as pg_parquet and DuckDB write them. Nothing else moves:
 * the page indexes lie before the footer and hold absolute offsets that stay valid. The output
 * stays a pure function of the input, so retried batches remain byte-identical. Which columns get
 * a logical type is read from the Arrow schema in logical-type-annotations.ts; this module sees
 * only bytes, so an encoder thread loads it without apache-arrow.
 *
 * parquet.thrift ids: FileMetaData 2 schema; SchemaElement 1 type, 2 type_length, 4 name,
 * 5 num_children, 6 converted_type, 10 logicalType; LogicalType 1 STRING, 12 JSON, 14 UUID;
 * Type 6 BYTE_ARRAY, 7 FIXED_LEN_BYTE_ARRAY; ConvertedType 19 JSON.
 */
import { ParquetFormatError } from './format-error.js';
import {
  asStruct,
  intField,
  listField,
  readThriftStruct,
  textField,
  TType,
  writeThriftStruct,
  type ThriftStruct,
  type ThriftValue,
} from './thrift-compact.js';

/** One leaf column to annotate: its path in the Parquet schema (below the root) and its logical type. */
export interface LogicalTypeAnnotation {
  readonly path: readonly string[];
  readonly type: 'UUID' | 'JSON';
}

const BYTE_ARRAY = 6n;
const FIXED_LEN_BYTE_ARRAY = 7n;
const CONVERTED_JSON = 19n;
const LOGICAL_STRING = 1;
const LOGICAL_JSON = 12;
const LOGICAL_UUID = 14;

/**
 * The same Parquet file with `annotations` written into its footer's schema. Returns `file`
 * itself when there is nothing to annotate.
 *
 * @throws ParquetFormatError when the bytes are not Parquet, a path is not a leaf of the file's
 *   schema, or its physical type cannot carry the logical type (UUID: FIXED_LEN_BYTE_ARRAY(16);
 *   JSON: BYTE_ARRAY): never a file that claims a type it does not hold.
 */
export function annotateLogicalTypes(
  file: Uint8Array,
  annotations: readonly LogicalTypeAnnotation[],
): Uint8Array {
  if (annotations.length === 0) return file;
  const n = file.byteLength;
  const view = new DataView(file.buffer, file.byteOffset, n);
  const magic = 0x31524150; // "PAR1" little-endian
  if (n < 12 || view.getUint32(0, true) !== magic || view.getUint32(n - 4, true) !== magic) {
    throw new ParquetFormatError(`not a Parquet file (${n} bytes, no PAR1 magic at both ends)`);
  }
  const len = view.getUint32(n - 8, true);
  if (len + 12 > n) throw new ParquetFormatError(`Parquet footer length ${len} exceeds the file size ${n}`);
  const meta = readThriftStruct(file.subarray(n - 8 - len, n - 8)).struct;
  const leaves = leafElements(listField(meta, 2).map(asStruct));
  for (const a of annotations) {
    const key = a.path.join('\u0000');
    const element = leaves.get(key);
    if (!element) {
      throw new ParquetFormatError(
        `no leaf column ${a.path.join('.')} in the Parquet schema to annotate ${a.type}`,
      );
    }
    annotate(element, a);
  }
  const footer = writeThriftStruct(meta);
  const out = new Uint8Array(n - 8 - len + footer.length + 8);
  out.set(file.subarray(0, n - 8 - len), 0);
  out.set(footer, n - 8 - len);
  const tail = new DataView(out.buffer, out.byteOffset + out.length - 8, 8);
  tail.setUint32(0, footer.length, true);
  tail.setUint32(4, magic, true);
  return out;
}

/** The schema's leaf elements by path (names joined with NUL), walking num_children depth first. */
function leafElements(elements: readonly ThriftStruct[]): Map<string, ThriftStruct> {
  const leaves = new Map<string, ThriftStruct>();
  let i = 0;
  const walk = (path: readonly string[]): void => {
    const element = elements[i++];
    if (!element) throw new ParquetFormatError('the Parquet schema ends inside a group');
    const children = Number(intField(element, 5) ?? 0n);
    const here = i === 1 ? [] : [...path, textField(element, 4) ?? ''];
    if (children === 0) leaves.set(here.join('\u0000'), element);
    for (let c = 0; c < children; c++) walk(here);
  };
  walk([]);
  if (i !== elements.length) throw new ParquetFormatError('the Parquet schema has elements outside its root');
  return leaves;
}

function annotate(element: ThriftStruct, a: LogicalTypeAnnotation): void {
  const physical = intField(element, 1);
  const where = a.path.join('.');
  if (a.type === 'UUID') {
    if (physical !== FIXED_LEN_BYTE_ARRAY || intField(element, 2) !== 16n) {
      throw new ParquetFormatError(
        `column ${where} is not FIXED_LEN_BYTE_ARRAY(16): it cannot be annotated UUID`,
      );
    }
    setField(element, 10, logicalType(LOGICAL_UUID));
    return;
  }
  const current = element.get(10);
  const isString =
    current === undefined || (current.type === TType.STRUCT && current.value.has(LOGICAL_STRING));
  if (physical !== BYTE_ARRAY || !isString) {
    throw new ParquetFormatError(`column ${where} is not a BYTE_ARRAY string: it cannot be annotated JSON`);
  }
  setField(element, 6, { type: TType.I32, value: CONVERTED_JSON });
  setField(element, 10, logicalType(LOGICAL_JSON));
}

/** A LogicalType union holding the (empty) struct of `id`. */
function logicalType(id: number): ThriftValue {
  return { type: TType.STRUCT, value: new Map([[id, { type: TType.STRUCT, value: new Map() }]]) };
}

/** Sets field `id`, keeping the fields in ascending id order (as every Thrift writer emits them). */
function setField(s: ThriftStruct, id: number, value: ThriftValue): void {
  s.set(id, value);
  const sorted = [...s.entries()].sort(([x], [y]) => x - y);
  s.clear();
  for (const [k, v] of sorted) s.set(k, v);
}
