/**
 * Reading a Parquet file's footer: row counts, row groups, codecs, key/value metadata and the
 * Arrow schema. In memory through a small Thrift compact reader (no copy into WASM memory, which
 * never shrinks), or from a Blob through parquet-wasm's metadata API.
 */
import { tableFromIPC, type Schema } from 'apache-arrow';
import * as wasm from 'parquet-wasm';
import { ErrorType, PgParquetError } from '../contract/errors.js';

/** What a Parquet file's footer says. */
export interface ParquetFileInfo {
  /** Total rows per the footer (checked against the sum of the row groups' rows). */
  readonly rows: number;
  readonly rowGroups: number;
  readonly rowGroupRows: readonly number[];
  /** The Arrow schema (from the `ARROW:schema` entry, or derived by parquet-wasm without it). */
  readonly schema: Schema;
  /** Distinct codecs of the column chunks, e.g. `['ZSTD']`. */
  readonly codecs: readonly string[];
  readonly createdBy: string | undefined;
  /** File key/value metadata except `ARROW:schema`. */
  readonly keyValueMetadata: Readonly<Record<string, string>>;
}

/**
 * Reads the footer of a Parquet file held in memory, synchronously and without copying the
 * file into WASM memory (which never shrinks): used to check that a stored file holds the
 * row count that was decoded from the source.
 *
 * @throws ParquetFormatError when the bytes are not a Parquet file.
 */
export function readParquetMetadata(bytes: Uint8Array): ParquetFileInfo {
  const footer = readFooter(bytes);
  const kv = new Map(footer.keyValue);
  const arrowSchema = kv.get('ARROW:schema');
  kv.delete('ARROW:schema');
  let schema: Schema;
  if (arrowSchema !== undefined) {
    schema = tableFromIPC(Buffer.from(arrowSchema, 'base64')).schema;
  } else {
    // Files from other writers: let parquet-rs derive the Arrow schema (copies the file).
    schema = tableFromIPC(wasm.readSchema(bytes).intoIPCStream()).schema;
  }
  return {
    rows: footer.numRows,
    rowGroups: footer.rowGroupRows.length,
    rowGroupRows: footer.rowGroupRows,
    schema,
    codecs: footer.codecs,
    createdBy: footer.createdBy,
    keyValueMetadata: Object.fromEntries(kv),
  };
}

/**
 * The same information through parquet-wasm's own metadata API, from a Blob (e.g.
 * `fs.openAsBlob(path)`): only the footer is read, so it suits large files on disk.
 */
export async function readParquetMetadataFromBlob(blob: Blob): Promise<ParquetFileInfo> {
  const file = await wasm.ParquetFile.fromFile(blob);
  try {
    const meta = file.metadata();
    const fileMeta = meta.fileMetadata();
    const rowGroupRows: number[] = [];
    const codecs = new Set<string>();
    for (let i = 0; i < meta.numRowGroups(); i++) {
      const rg = meta.rowGroup(i);
      rowGroupRows.push(rg.numRows());
      for (const col of rg.columns()) {
        codecs.add(wasm.Compression[col.compression()]);
        col.free();
      }
      rg.free();
    }
    const kv = new Map<string, string>();
    for (const [k, v] of fileMeta.keyValueMetadata() as Map<unknown, unknown>) {
      if (typeof k === 'string' && k !== 'ARROW:schema') kv.set(k, typeof v === 'string' ? v : '');
    }
    const info: ParquetFileInfo = {
      rows: fileMeta.numRows(),
      rowGroups: rowGroupRows.length,
      rowGroupRows,
      schema: tableFromIPC(file.schema().intoIPCStream()).schema,
      codecs: [...codecs].sort(),
      createdBy: fileMeta.createdBy(),
      keyValueMetadata: Object.fromEntries(kv),
    };
    fileMeta.free();
    meta.free();
    return info;
  } finally {
    file.free();
  }
}

/** The bytes are not a (complete) Parquet file. */
export class ParquetFormatError extends PgParquetError {
  constructor(message: string) {
    // Terminal: stored objects are written whole, so a file that is not Parquet stays so.
    super(ErrorType.ParquetFormat, message, false);
  }
}

// ---------------------------------------------------------------------------------------------
// Footer reader: the Thrift compact protocol, only as far as FileMetaData needs it. parquet-wasm
// has no synchronous metadata API, and its readers would copy the whole file into WASM memory.

/** Parquet's CompressionCodec enum (parquet.thrift), which differs from parquet-wasm's. */
const THRIFT_CODECS = ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'LZO', 'BROTLI', 'LZ4', 'ZSTD', 'LZ4_RAW'];
const MAGIC = 0x31524150; // "PAR1" little-endian

interface Footer {
  numRows: number;
  rowGroupRows: number[];
  codecs: string[];
  keyValue: [string, string][];
  createdBy: string | undefined;
}

function readFooter(bytes: Uint8Array): Footer {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength;
  if (n < 12 || view.getUint32(0, true) !== MAGIC || view.getUint32(n - 4, true) !== MAGIC) {
    throw new ParquetFormatError(`not a Parquet file (${n} bytes, no PAR1 magic at both ends)`);
  }
  const len = view.getUint32(n - 8, true);
  if (len + 12 > n) throw new ParquetFormatError(`Parquet footer length ${len} exceeds the file size ${n}`);
  const r = new CompactReader(bytes.subarray(n - 8 - len, n - 8));
  const out: Footer = { numRows: -1, rowGroupRows: [], codecs: [], keyValue: [], createdBy: undefined };
  const codecs = new Set<string>();
  r.struct((id, type) => {
    if (id === 3 && type === T.I64) out.numRows = r.int();
    else if (id === 4 && type === T.LIST) {
      r.list(() => out.rowGroupRows.push(readRowGroup(r, codecs)));
    } else if (id === 5 && type === T.LIST) {
      r.list(() => {
        let key = '';
        let value = '';
        r.struct((fid, ft) => {
          if (fid === 1 && ft === T.BINARY) key = r.string();
          else if (fid === 2 && ft === T.BINARY) value = r.string();
          else r.skip(ft);
        });
        out.keyValue.push([key, value]);
      });
    } else if (id === 6 && type === T.BINARY) out.createdBy = r.string();
    else r.skip(type);
  });
  if (out.numRows < 0) throw new ParquetFormatError('Parquet footer has no num_rows');
  const sum = out.rowGroupRows.reduce((a, b) => a + b, 0);
  if (sum !== out.numRows) {
    throw new ParquetFormatError(`Parquet footer says ${out.numRows} rows but its row groups hold ${sum}`);
  }
  out.codecs = [...codecs].sort();
  return out;
}

function readRowGroup(r: CompactReader, codecs: Set<string>): number {
  let rows = -1;
  r.struct((id, type) => {
    if (id === 1 && type === T.LIST) {
      r.list(() =>
        r.struct((cid, ctype) => {
          if (cid === 3 && ctype === T.STRUCT) {
            r.struct((mid, mtype) => {
              if (mid === 4 && mtype === T.I32) {
                const codec = r.int();
                codecs.add(THRIFT_CODECS[codec] ?? `CODEC_${codec}`);
              } else r.skip(mtype);
            });
          } else r.skip(ctype);
        }),
      );
    } else if (id === 3 && type === T.I64) rows = r.int();
    else r.skip(type);
  });
  if (rows < 0) throw new ParquetFormatError('Parquet row group without num_rows');
  return rows;
}

/** Thrift compact protocol type ids. */
const T = {
  TRUE: 1,
  FALSE: 2,
  BYTE: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  DOUBLE: 7,
  BINARY: 8,
  LIST: 9,
  SET: 10,
  MAP: 11,
  STRUCT: 12,
  UUID: 13,
} as const;

class CompactReader {
  private pos = 0;
  private readonly decoder = new TextDecoder();

  constructor(private readonly buf: Uint8Array) {}

  private byte(): number {
    const b = this.buf[this.pos++];
    if (b === undefined) throw new ParquetFormatError('truncated Parquet footer');
    return b;
  }

  private varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new ParquetFormatError('bad varint in Parquet footer');
    }
  }

  /** A zigzag-encoded i16/i32/i64 as a number (row counts stay far below 2^53). */
  int(): number {
    const z = this.varint();
    return Number((z >> 1n) ^ -(z & 1n));
  }

  private length(): number {
    const n = Number(this.varint());
    if (n > this.buf.length - this.pos) throw new ParquetFormatError('truncated Parquet footer');
    return n;
  }

  string(): string {
    const n = this.length();
    const s = this.decoder.decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }

  /** Calls `field` for each field header; `field` must consume the value (or skip it). */
  struct(field: (id: number, type: number) => void): void {
    let last = 0;
    for (;;) {
      const header = this.byte();
      const type = header & 0x0f;
      if (type === 0) return;
      const delta = header >> 4;
      const id = delta === 0 ? this.int() : last + delta;
      last = id;
      field(id, type);
    }
  }

  /** Calls `element` (which must consume it) for each element of a list or set. */
  list(element: (type: number) => void): void {
    const header = this.byte();
    let size = header >> 4;
    const type = header & 0x0f;
    if (size === 15) size = Number(this.varint());
    for (let i = 0; i < size; i++) element(type);
  }

  skip(type: number): void {
    switch (type) {
      case T.TRUE:
      case T.FALSE:
        return; // the value is in the field header
      case T.BYTE:
        this.pos += 1;
        return;
      case T.I16:
      case T.I32:
      case T.I64:
        this.varint();
        return;
      case T.DOUBLE:
        this.pos += 8;
        return;
      case T.UUID:
        this.pos += 16;
        return;
      case T.BINARY: {
        const n = this.length(); // not `pos += length()`: that would read pos before the varint
        this.pos += n;
        return;
      }
      case T.LIST:
      case T.SET:
        this.list((t) => this.skipElement(t));
        return;
      case T.MAP: {
        const size = Number(this.varint());
        if (size === 0) return;
        const kinds = this.byte();
        for (let i = 0; i < size; i++) {
          this.skipElement(kinds >> 4);
          this.skipElement(kinds & 0x0f);
        }
        return;
      }
      case T.STRUCT:
        this.struct((_id, t) => this.skip(t));
        return;
      default:
        throw new ParquetFormatError(`unknown Thrift type ${type} in Parquet footer`);
    }
  }

  /** Booleans inside containers take one byte, unlike boolean fields. */
  private skipElement(type: number): void {
    if (type === T.TRUE || type === T.FALSE) this.byte();
    else this.skip(type);
  }
}
