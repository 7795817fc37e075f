/** Parsing of user-written relation and column names. Pure: used by workflows too. */
import { InputError } from './errors.js';

/** A parsed, unquoted schema-qualified relation name. */
export interface QualifiedName {
  readonly schema: string;
  readonly name: string;
}

const ACCEPTED_TABLE =
  'schema.table or table, each part either a plain identifier (letters, digits, _, $) or "double quoted"';

/**
 * Parses `public.events`, `events` (schema `public`), or `"My Schema"."Odd.Name"`.
 * Unquoted parts fold to lower case, as PostgreSQL does.
 */
export function parseQualifiedName(text: unknown, field = 'source.table'): QualifiedName {
  if (typeof text !== 'string' || text.trim() === '') throw new InputError(field, text, ACCEPTED_TABLE);
  const parts = splitIdentifiers(text.trim(), field, ACCEPTED_TABLE);
  if (parts.length === 1) return { schema: 'public', name: parts[0]! };
  if (parts.length === 2) return { schema: parts[0]!, name: parts[1]! };
  throw new InputError(field, text, ACCEPTED_TABLE);
}

/** Parses one column name (plain or double quoted). */
export function parseColumnName(text: unknown, field: string): string {
  const accepted = 'a column name: a plain identifier or a "double quoted" one';
  if (typeof text !== 'string' || text.trim() === '') throw new InputError(field, text, accepted);
  const parts = splitIdentifiers(text.trim(), field, accepted);
  if (parts.length !== 1) throw new InputError(field, text, accepted);
  return parts[0]!;
}

/** Parses one schema name (plain, folded to lower case, or double quoted). */
export function parseSchemaName(text: unknown, field: string): string {
  const accepted = 'a schema name: a plain identifier or a "double quoted" one';
  if (typeof text !== 'string' || text.trim() === '') throw new InputError(field, text, accepted);
  const parts = splitIdentifiers(text.trim(), field, accepted);
  if (parts.length !== 1) throw new InputError(field, text, accepted);
  return parts[0]!;
}

/** The display form `schema.table` used in messages (ambiguous when a part holds a dot). */
export function displayName(q: QualifiedName): string {
  return `${q.schema}.${q.name}`;
}

/**
 * The form of a name in object keys and workflow ids: `schema.table`, each part with `%`, `.`,
 * `/`, `\` and control characters percent-encoded, so that `"a.b".c` (`a%2Eb.c`) and
 * `a."b.c"` (`a.b%2Ec`) differ, and a name cannot leave its key prefix. Names without those
 * characters (`public.events`, `"My Schema"."Events"`) read exactly as {@link displayName}.
 */
export function keyName(q: QualifiedName): string {
  return `${keyPart(q.schema)}.${keyPart(q.name)}`;
}

/** One part of a name (a schema, a table) escaped as in {@link keyName}. */
export function keyPart(part: string): string {
  return part.replace(
    /[%./\\\0-\x1f\x7f]/g,
    (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`,
  );
}

/**
 * The name as `source.table` would have to be written to name it again: a part that is not a
 * plain lower-case identifier is double quoted (`public.events`, `"a.b".c`, `public."Events"`).
 * Unambiguous; used in the manifest.
 */
export function sqlName(q: QualifiedName): string {
  const part = (p: string) => (/^[a-z_][a-z0-9_$]*$/.test(p) ? p : `"${p.replace(/"/g, '""')}"`);
  return `${part(q.schema)}.${part(q.name)}`;
}

const PLAIN = /^[A-Za-z_][A-Za-z0-9_$]*$/;

function splitIdentifiers(text: string, field: string, accepted: string): string[] {
  const parts: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      let j = i + 1;
      let out = '';
      for (;;) {
        const k = text.indexOf('"', j);
        if (k < 0) throw new InputError(field, text, accepted);
        out += text.slice(j, k);
        if (text[k + 1] === '"') {
          out += '"';
          j = k + 2;
          continue;
        }
        i = k + 1;
        break;
      }
      if (out === '' || out.includes('\0')) throw new InputError(field, text, accepted);
      parts.push(out);
    } else {
      const dot = text.indexOf('.', i);
      const raw = dot < 0 ? text.slice(i) : text.slice(i, dot);
      if (!PLAIN.test(raw)) throw new InputError(field, text, accepted);
      parts.push(raw.toLowerCase());
      i = dot < 0 ? text.length : dot;
    }
    if (i < text.length) {
      if (text[i] !== '.' || i === text.length - 1) throw new InputError(field, text, accepted);
      i++;
    }
  }
  return parts;
}
