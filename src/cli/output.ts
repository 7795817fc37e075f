/** How every `pg-parquet` command prints its answer: one JSON document with `--json`, else text. */

/** Prints `value` as JSON when `json`, else calls `human` (which prints the text form). */
export function print(json: boolean | undefined, value: unknown, human: () => void): void {
  if (json) console.log(JSON.stringify(value, null, 2));
  else human();
}
