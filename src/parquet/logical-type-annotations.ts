/**
 * Which leaf columns of an Arrow schema get a Parquet logical type that parquet-wasm cannot write
 * (see logical-types.ts, which writes them into the footer): those carrying a canonical Arrow
 * extension type this package writes.
 */
import { DataType, type Field, type Schema } from 'apache-arrow';
import { EXTENSION_NAME_KEY } from '../arrow/column-spec.js';
import type { LogicalTypeAnnotation } from './logical-types.js';

/** Canonical Arrow extension types this package writes, and the Parquet logical type of each. */
const EXTENSION_LOGICAL_TYPES = { 'arrow.uuid': 'UUID', 'arrow.json': 'JSON' } as const;

/** A canonical extension type name this package writes. */
type ExtensionName = keyof typeof EXTENSION_LOGICAL_TYPES;

/**
 * The leaf columns of `schema` that carry one of {@link EXTENSION_LOGICAL_TYPES}, with their
 * Parquet paths as parquet-rs names them (a List `c` of element `item` is `c.list.item`).
 * Plain data, so it can travel to an encoder thread with the write options.
 */
export function logicalTypeAnnotations(schema: Schema): LogicalTypeAnnotation[] {
  const out: LogicalTypeAnnotation[] = [];
  const visit = (field: Field, path: string[]): void => {
    const type = field.type as DataType;
    if (DataType.isList(type)) {
      const child = type.children[0] as Field | undefined;
      if (child) visit(child, [...path, 'list', child.name]);
      return;
    }
    const name = field.metadata.get(EXTENSION_NAME_KEY);
    if (name !== undefined && Object.hasOwn(EXTENSION_LOGICAL_TYPES, name)) {
      out.push({ path, type: EXTENSION_LOGICAL_TYPES[name as ExtensionName] });
    }
  };
  for (const f of schema.fields) visit(f, [f.name]);
  return out;
}
