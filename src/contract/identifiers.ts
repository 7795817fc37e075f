/** SQL identifier quoting: every identifier we send is quoted, never spliced raw. */

/** `"name"` with embedded double quotes doubled. Refuses NUL, which PostgreSQL cannot hold. */
export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new RangeError('an identifier cannot contain NUL');
  return `"${name.replace(/"/g, '""')}"`;
}

/** `"schema"."table"` */
export function quoteQualified(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}
