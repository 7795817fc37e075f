/**
 * A `where` can only filter rows of the table. The text is parsed by PostgreSQL's own parser
 * (libpg_query, compiled to WASM: no compiler at install, no network at run time) as
 * `SELECT 1 FROM t WHERE <expr>`, and the expression tree is walked against an allow-list: column
 * references of the table, literals, operators, casts to built-in types, CASE/COALESCE/…, and
 * immutable or stable built-in functions that read nothing but their arguments. Everything else
 * (subqueries, other relations, parameters, volatile or side-effecting functions, user types) is
 * refused with `PgParquetInvalidWhere` naming what was refused.
 *
 * What runs is never the user's text: it is the checked tree printed back by the deparser, with
 * every function qualified `pg_catalog.` (a function of the same name earlier on the search_path
 * cannot stand in) and every time-relative value (`now()`, `current_date`, …) replaced by the
 * literal planning read, so that every partition and every retry filters the same rows.
 */
import { loadModule, parseSync } from 'libpg-query';
import { deparseSync } from 'pgsql-deparser';
import { ErrorType, PgParquetError } from '../contract/errors.js';

/** A parsed node: `{ Kind: { …fields } }`, as libpg_query's JSON output has it. */
type Node = Record<string, unknown>;

/**
 * Built-in functions a filter may call: immutable or stable, reading only their arguments (no
 * catalog, no setting, no file, no session state). Checked by name in `pg_catalog`, because the
 * call is printed qualified.
 */
// prettier-ignore
const ALLOWED_FUNCTIONS = new Set([
  // numbers
  'abs', 'ceil', 'ceiling', 'floor', 'round', 'trunc', 'sign', 'mod', 'div', 'power', 'pow', 'sqrt', 'cbrt',
  'exp', 'ln', 'log', 'log10', 'width_bucket', 'gcd', 'lcm', 'scale', 'isnan',
  // text (not repeat/lpad/rpad: one row could make the server allocate a gigabyte)
  'lower', 'upper', 'initcap', 'length', 'char_length', 'character_length', 'octet_length', 'bit_length',
  'btrim', 'ltrim', 'rtrim', 'substr', 'substring', 'left', 'right', 'strpos', 'position', 'replace',
  'split_part', 'starts_with', 'concat', 'concat_ws', 'reverse', 'translate',
  'md5', 'ascii', 'chr', 'regexp_like', 'regexp_replace', 'regexp_count', 'regexp_instr', 'regexp_substr',
  'textregexeq', 'similar_to_escape', 'overlay', 'normalize', 'is_normalized', 'quote_literal', 'to_hex',
  'encode', 'decode',
  // date and time (the time-relative ones are bound at planning, see TIME_FUNCTIONS)
  'date_trunc', 'date_part', 'extract', 'date_bin', 'make_date', 'make_time', 'make_timestamp',
  'make_timestamptz', 'make_interval', 'isfinite', 'justify_days', 'justify_hours', 'justify_interval',
  'to_char', 'to_date', 'to_timestamp', 'to_number', 'timezone', 'age',
  // json
  'json_typeof', 'jsonb_typeof', 'json_array_length', 'jsonb_array_length', 'json_extract_path',
  'jsonb_extract_path', 'json_extract_path_text', 'jsonb_extract_path_text', 'jsonb_path_exists',
  'jsonb_path_match', 'jsonb_path_query_first', 'jsonb_exists', 'jsonb_exists_any', 'jsonb_exists_all',
  // arrays and misc
  'array_length', 'array_lower', 'array_upper', 'array_ndims', 'cardinality', 'array_position',
  'array_to_string', 'num_nulls', 'num_nonnulls', 'lower_inc', 'upper_inc', 'isempty',
]);

/** Time-relative functions: allowed, and evaluated once at planning (see {@link filterSql}). */
const TIME_FUNCTIONS = new Set(['now', 'transaction_timestamp', 'statement_timestamp']);

/** Functions whose refusal deserves its reason: they change or read the server, or give another value each call. */
// prettier-ignore
const VOLATILE_FUNCTIONS = new Set([
  'random', 'random_normal', 'setseed', 'clock_timestamp', 'timeofday', 'gen_random_uuid',
  'uuid_generate_v4', 'nextval', 'currval', 'lastval', 'setval', 'pg_sleep', 'pg_terminate_backend',
  'pg_cancel_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'lo_export', 'lo_import', 'lo_unlink',
  'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file', 'pg_notify', 'pg_advisory_lock',
  'pg_advisory_xact_lock', 'pg_try_advisory_lock', 'pg_try_advisory_xact_lock', 'pg_advisory_unlock',
  'set_config', 'current_setting', 'dblink', 'query_to_xml', 'txid_current', 'pg_current_xact_id',
]);

/** Built-in types a filter may cast to (casts to reg* types read the catalog; user types are not built in). */
// prettier-ignore
const ALLOWED_TYPES = new Set([
  'bool', 'boolean', 'int2', 'int4', 'int8', 'smallint', 'integer', 'int', 'bigint', 'float4', 'float8',
  'real', 'numeric', 'decimal', 'text', 'varchar', 'bpchar', 'char', 'character', 'name', 'date', 'time',
  'timetz', 'timestamp', 'timestamptz', 'interval', 'uuid', 'json', 'jsonb', 'jsonpath', 'bytea', 'inet',
  'cidr', 'macaddr', 'macaddr8', 'bit', 'varbit', 'money', 'int4range', 'int8range', 'numrange', 'daterange',
  'tsrange', 'tstzrange',
]);

/** SQLValueFunction ops that are time-relative, with the planning value and type they become. */
const TIME_VALUES: Record<string, { value: keyof PlanningClock; type: string }> = {
  SVFOP_CURRENT_DATE: { value: 'date', type: 'date' },
  SVFOP_CURRENT_TIME: { value: 'timetz', type: 'timetz' },
  SVFOP_CURRENT_TIME_N: { value: 'timetz', type: 'timetz' },
  SVFOP_CURRENT_TIMESTAMP: { value: 'timestamptz', type: 'timestamptz' },
  SVFOP_CURRENT_TIMESTAMP_N: { value: 'timestamptz', type: 'timestamptz' },
  SVFOP_LOCALTIME: { value: 'time', type: 'time' },
  SVFOP_LOCALTIME_N: { value: 'time', type: 'time' },
  SVFOP_LOCALTIMESTAMP: { value: 'timestamp', type: 'timestamp' },
  SVFOP_LOCALTIMESTAMP_N: { value: 'timestamp', type: 'timestamp' },
};

/** String literals that the date/time input functions turn into the current time when cast. */
const TIME_WORDS = new Set(['now', 'today', 'tomorrow', 'yesterday']);

/** A/Expr kinds that are plain operators (the operator itself is checked to be unqualified or pg_catalog's). */
// prettier-ignore
const EXPR_KINDS = new Set([
  'AEXPR_OP', 'AEXPR_OP_ANY', 'AEXPR_OP_ALL', 'AEXPR_DISTINCT', 'AEXPR_NOT_DISTINCT', 'AEXPR_NULLIF',
  'AEXPR_IN', 'AEXPR_LIKE', 'AEXPR_ILIKE', 'AEXPR_SIMILAR', 'AEXPR_BETWEEN', 'AEXPR_NOT_BETWEEN',
  'AEXPR_BETWEEN_SYM', 'AEXPR_NOT_BETWEEN_SYM',
]);

/** The keys a parsed `SELECT 1 FROM t WHERE …` has; any other one means the text went beyond one expression. */
const SELECT_KEYS = new Set(['targetList', 'fromClause', 'whereClause', 'limitOption', 'op']);

/** The current time as planning read it, as PostgreSQL literals in UTC (the extraction session's TimeZone). */
export interface PlanningClock {
  readonly timestamptz: string;
  readonly timestamp: string;
  readonly date: string;
  readonly timetz: string;
  readonly time: string;
}

/** A checked filter: its tree, the columns it reads, and whether it depends on the current time. */
export interface CheckedWhere {
  readonly text: string;
  readonly tree: Node;
  readonly columns: ReadonlySet<string>;
  readonly timeRelative: boolean;
}

/** The SQL PostgreSQL evaluates, in the planning transaction, for {@link PlanningClock}. */
export const PLANNING_CLOCK_SQL = `SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS timestamptz,
  to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS timestamp,
  to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS date,
  to_char(now() AT TIME ZONE 'UTC', 'HH24:MI:SS.US') || '+00' AS timetz,
  to_char(now() AT TIME ZONE 'UTC', 'HH24:MI:SS.US') AS time`;

let loaded: Promise<void> | undefined;

/**
 * Parses and checks `where` (and, when `columns` is given, that every column it names is one of
 * them). Throws `PgParquetInvalidWhere` naming `source.where`, the value and what was refused.
 */
export async function checkWhere(where: string, columns?: readonly string[]): Promise<CheckedWhere> {
  loaded ??= loadModule();
  await loaded;
  const tree = whereTree(where);
  const state = { columns: new Set<string>(), timeRelative: false };
  walk(tree, where, state);
  if (columns) {
    const unknown = [...state.columns].find((c) => !columns.includes(c));
    if (unknown !== undefined) {
      const list = columns.length > 12 ? `${columns.slice(0, 12).join(', ')}, …` : columns.join(', ');
      throw refused(
        where,
        `column "${unknown}", which the table does not have`,
        `columns of the table (${list})`,
      );
    }
  }
  return { text: where, tree, columns: state.columns, timeRelative: state.timeRelative };
}

/**
 * The SQL that runs for a checked filter: the tree with time-relative values replaced by the
 * planning clock's literals, every function qualified `pg_catalog.`, printed by the deparser.
 * The printed text is parsed again and must give the same tree: what runs is what was checked.
 */
export function filterSql(checked: CheckedWhere, clock: PlanningClock | null): string {
  if (checked.timeRelative && clock === null)
    throw new Error('a time-relative filter needs the planning clock');
  const bound = rewrite(structuredClone(checked.tree), clock);
  const sql = deparseSync(bound);
  let again: Node;
  try {
    again = whereTree(sql);
  } catch {
    throw refused(
      checked.text,
      'an expression the deparser does not print back faithfully',
      'a simpler expression',
    );
  }
  if (JSON.stringify(comparable(again)) !== JSON.stringify(comparable(bound))) {
    throw refused(
      checked.text,
      'an expression the deparser does not print back faithfully',
      'a simpler expression',
    );
  }
  return sql;
}

function whereTree(where: string): Node {
  let parsed: ReturnType<typeof parseSync>;
  try {
    parsed = parseSync(`SELECT 1 FROM t WHERE ${where}`);
  } catch (err) {
    throw refused(
      where,
      `text PostgreSQL does not parse (${(err as Error).message})`,
      'one boolean SQL expression',
    );
  }
  const stmts = parsed.stmts ?? [];
  if (stmts.length !== 1) throw refused(where, 'more than one statement', 'one boolean SQL expression');
  const select = (stmts[0]!.stmt as Node | undefined)?.SelectStmt as Node | undefined;
  const extra = select ? Object.keys(select).find((k) => !SELECT_KEYS.has(k)) : 'statement';
  const from = select?.fromClause as Node[] | undefined;
  if (
    !select ||
    extra !== undefined ||
    select.op !== 'SETOP_NONE' ||
    from?.length !== 1 ||
    !select.whereClause
  ) {
    throw refused(
      where,
      `text beyond one expression (${extra ?? 'a set operation or another relation'})`,
      'one boolean SQL expression',
    );
  }
  return select.whereClause as Node;
}

interface WalkState {
  columns: Set<string>;
  timeRelative: boolean;
}

function walk(value: unknown, where: string, state: WalkState): void {
  if (Array.isArray(value)) {
    for (const v of value) walk(v, where, state);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const [kind, body] = Object.entries(value as Node)[0] ?? [];
  if (kind === undefined) return;
  const n = body as Node;
  switch (kind) {
    case 'A_Const':
      if (typeof (n.sval as Node | undefined)?.sval === 'string') {
        const s = ((n.sval as Node).sval as string).trim().toLowerCase();
        if (TIME_WORDS.has(s)) {
          throw refused(where, `the time word '${s}'`, 'now() or current_date (evaluated once at planning)');
        }
      }
      return;
    case 'ColumnRef': {
      const fields = n.fields as Node[];
      const names = fields.map((f) => {
        const sval = (f.String as Node | undefined)?.sval;
        return typeof sval === 'string' ? sval : '*';
      });
      if (names.length !== 1 || !('String' in fields[0]!)) {
        throw refused(where, `the reference ${names.join('.')}`, 'unqualified column names of the table');
      }
      state.columns.add(names[0]!);
      return;
    }
    case 'A_Expr': {
      if (!EXPR_KINDS.has(n.kind as string))
        throw refused(where, `the operator kind ${String(n.kind)}`, 'comparison and arithmetic operators');
      const name = (n.name as Node[]).map((x) => (x.String as Node).sval as string);
      if (name.length > 1 && name[0] !== 'pg_catalog')
        throw refused(where, `the operator ${name.join('.')}`, 'built-in operators');
      walk([n.lexpr, n.rexpr], where, state);
      return;
    }
    case 'BoolExpr':
    case 'NullTest':
    case 'BooleanTest':
    case 'CoalesceExpr':
    case 'MinMaxExpr':
    case 'CaseExpr':
    case 'CaseWhen':
    case 'A_ArrayExpr':
    case 'RowExpr':
    case 'List':
    case 'A_Indices':
    case 'String':
      walk(Object.values(n), where, state);
      return;
    case 'A_Indirection':
      for (const i of n.indirection as Node[]) {
        if (!('A_Indices' in i)) throw refused(where, 'a field selection', 'subscripts of array columns');
      }
      walk([n.arg, n.indirection], where, state);
      return;
    case 'CollateClause':
      walk(n.arg, where, state);
      return;
    case 'TypeCast': {
      const t = n.typeName as Node;
      const names = (t.names as Node[]).map((x) => (x.String as Node).sval as string);
      const type = names.at(-1)!;
      if (
        (names.length > 1 && names[0] !== 'pg_catalog') ||
        !ALLOWED_TYPES.has(type) ||
        t.setof ||
        t.pct_type
      ) {
        throw refused(where, `a cast to ${names.join('.')}`, 'casts to built-in types');
      }
      walk([n.arg, t.typmods], where, state);
      return;
    }
    case 'FuncCall': {
      const names = (n.funcname as Node[]).map((x) => (x.String as Node).sval as string);
      const fn = names.at(-1)!;
      const qualified = names.length > 1 && names[0] !== 'pg_catalog';
      if (
        n.agg_star ||
        n.agg_distinct ||
        n.agg_order ||
        n.agg_filter ||
        n.over ||
        n.func_variadic ||
        n.agg_within_group
      ) {
        throw refused(
          where,
          `the aggregate or window call ${names.join('.')}(…)`,
          'plain calls of allowed built-in functions',
        );
      }
      if (!qualified && TIME_FUNCTIONS.has(fn) && !n.args) {
        state.timeRelative = true;
        return;
      }
      // age(x) is age(current_date, x): time-relative in a way the rewrite cannot see.
      if (!qualified && fn === 'age' && (n.args as unknown[] | undefined)?.length !== 2) {
        throw refused(where, 'age() with one argument (relative to the current date)', 'age(a, b), or a - b');
      }
      if (qualified || !ALLOWED_FUNCTIONS.has(fn)) {
        const why = VOLATILE_FUNCTIONS.has(fn)
          ? 'a volatile or side-effecting function'
          : 'a function not on the allow-list';
        throw refused(
          where,
          `${why}: ${names.join('.')}()`,
          'immutable or stable built-in functions (see the README)',
        );
      }
      walk(n.args, where, state);
      return;
    }
    case 'SQLValueFunction':
      if ((n.op as string) in TIME_VALUES) {
        state.timeRelative = true;
        return;
      }
      throw refused(
        where,
        `the session value ${String(n.op).replace('SVFOP_', '').toLowerCase()}`,
        'values of the row',
      );
    case 'SubLink':
      throw refused(where, 'a subquery', 'an expression over the columns of the row');
    case 'ParamRef':
      throw refused(where, 'a parameter', 'literals');
    default:
      throw refused(
        where,
        `an expression of kind ${kind}`,
        'columns, literals, operators, casts, CASE and allowed built-in functions',
      );
  }
}

/** Replaces time-relative nodes with planning literals and qualifies function names, in place. */
function rewrite(value: unknown, clock: PlanningClock | null): Node {
  const visit = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(visit);
    if (v === null || typeof v !== 'object') return v;
    const node = v as Node;
    const svf = node.SQLValueFunction as Node | undefined;
    if (svf && clock) {
      const t = TIME_VALUES[svf.op as string]!;
      const typmod = typeof svf.typmod === 'number' && svf.typmod >= 0 ? svf.typmod : null;
      return literal(clock[t.value], t.type, typmod);
    }
    const fc = node.FuncCall as Node | undefined;
    if (fc) {
      const names = (fc.funcname as Node[]).map((x) => (x.String as Node).sval as string);
      const unqualified = names.length === 1 || (names.length === 2 && names[0] === 'pg_catalog');
      if (unqualified && TIME_FUNCTIONS.has(names.at(-1)!) && !fc.args && clock) {
        return literal(clock.timestamptz, 'timestamptz', null);
      }
      if (names.length === 1) fc.funcname = [{ String: { sval: 'pg_catalog' } }, ...(fc.funcname as Node[])];
    }
    for (const [k, x] of Object.entries(node)) node[k] = visit(x);
    return node;
  };
  return visit(value) as Node;
}

function literal(value: string, type: string, typmod: number | null): Node {
  return {
    TypeCast: {
      arg: { A_Const: { sval: { sval: value } } },
      typeName: {
        names: [{ String: { sval: 'pg_catalog' } }, { String: { sval: type } }],
        ...(typmod === null ? {} : { typmods: [{ A_Const: { ival: { ival: typmod } } }] }),
        typemod: -1,
      },
    },
  };
}

/**
 * A tree without what printing may change and meaning does not: source locations, and the
 * `pg_catalog` qualifier of a type name (the deparser prints `'…'::date` for pg_catalog.date).
 */
function comparable(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(comparable);
  if (v === null || typeof v !== 'object') return v;
  const node = v as Node;
  const names = node.names as Node[] | undefined;
  const unqualified =
    'typemod' in node &&
    names &&
    names.length > 1 &&
    (names[0]?.String as Node | undefined)?.sval === 'pg_catalog'
      ? { ...node, names: names.slice(1) }
      : node;
  return Object.fromEntries(
    Object.entries(unqualified)
      .filter(([k]) => k !== 'location' && !k.endsWith('_start') && !k.endsWith('_end'))
      .map(([k, x]) => [k, comparable(x)]),
  );
}

function refused(where: string, what: string, accepted: string): PgParquetError {
  return new PgParquetError(
    ErrorType.InvalidWhere,
    `invalid source.where: ${JSON.stringify(where)} contains ${what}; accepted: ${accepted}`,
    false,
    { field: 'source.where', value: where, refused: what, accepted },
  );
}
