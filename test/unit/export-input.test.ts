import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorType, InputError } from '../../src/contract/errors.js';
import {
  DEFAULT_BATCH_ROWS,
  DEFAULT_MAX_CONCURRENT,
  DEFAULT_TARGET_PARTITION_BYTES,
  resolveExportInput,
  typeOptionsOf,
} from '../../src/contract/export-input.js';
import { parseQualifiedName } from '../../src/contract/table-name.js';

const ok = { source: { table: 'public.events' }, destination: 's3://bucket/prefix' };

/** Asserts the input is refused with an InputError on `field` and the given failure type. */
function refuses(raw: unknown, field: string, type: string = ErrorType.InvalidInput): void {
  assert.throws(
    () => resolveExportInput(raw),
    (err: unknown) => {
      assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
      assert.equal(err.field, field);
      assert.equal(err.type, type);
      assert.equal(err.retryable, false);
      return true;
    },
  );
}

describe('resolveExportInput', () => {
  test('fills every default', () => {
    const r = resolveExportInput(ok);
    assert.equal(r.source.connection, 'default');
    assert.deepEqual(r.table, { schema: 'public', name: 'events' });
    assert.equal(r.cursorColumn, null);
    assert.equal(r.partitions.targetBytes, DEFAULT_TARGET_PARTITION_BYTES);
    assert.equal(r.partitions.maxConcurrent, DEFAULT_MAX_CONCURRENT);
    assert.equal(r.batch.rows, DEFAULT_BATCH_ROWS);
    assert.equal(r.transform.extractedAtColumn, '_extracted_at');
    assert.equal(r.transform.timestampUnit, 'us');
    assert.equal(r.parquet.compression, 'zstd');
    assert.equal(r.compaction.enabled, true);
  });

  test('accepts the DESIGN example with explicit nulls', () => {
    const r = resolveExportInput({
      source: { connection: 'default', table: 'public.events', cursor: 'id', columns: null, where: null },
      destination: 'file:///tmp/out',
      runKey: null,
      partitions: { count: null, targetBytes: 536870912, maxConcurrent: 4, strategy: 'auto' },
      batch: { rows: 250000 },
      transform: {
        extractedAtColumn: '_extracted_at',
        extractionIdColumn: '_extraction_id',
        timestampUnit: 'us',
      },
      parquet: { compression: 'zstd', rowGroupRows: 1000000 },
      compaction: { enabled: true, targetFileBytes: 268435456, keepRaw: false },
    });
    assert.equal(r.cursorColumn, 'id');
  });

  test('type options: defaults, accepted values and typeOptionsOf', () => {
    const d = resolveExportInput(ok).transform;
    assert.deepEqual(typeOptionsOf(d), {
      extractedAtColumn: '_extracted_at',
      extractionIdColumn: '_extraction_id',
      timestampUnit: 'us',
      infinity: 'error',
      numericAsString: false,
      unconstrainedNumeric: null,
      arraysAsText: false,
      timeAs: 'time',
      uuidAs: 'string',
      jsonAs: 'string',
    });
    const t = resolveExportInput({
      ...ok,
      transform: {
        infinity: 'clamp',
        numericAsString: true,
        unconstrainedNumeric: 'decimal(38, 9)',
        arraysAsText: true,
        timeAs: 'micros',
        uuidAs: 'uuid',
        jsonAs: 'json',
        extractedAtColumn: null,
      },
    }).transform;
    assert.deepEqual(typeOptionsOf(t), {
      extractedAtColumn: null,
      extractionIdColumn: '_extraction_id',
      timestampUnit: 'us',
      infinity: 'clamp',
      numericAsString: true,
      unconstrainedNumeric: { precision: 38, scale: 9 },
      arraysAsText: true,
      timeAs: 'micros',
      uuidAs: 'uuid',
      jsonAs: 'json',
    });
    for (const bad of [
      'decimal(39,2)',
      'decimal(10,11)',
      'decimal(0,0)',
      'numeric(10,2)',
      'float',
      'decimal(10)',
    ]) {
      refuses({ ...ok, transform: { unconstrainedNumeric: bad } }, 'transform.unconstrainedNumeric');
    }
    refuses({ ...ok, transform: { infinity: 'max' } }, 'transform.infinity');
    refuses({ ...ok, transform: { numericAsString: 'yes' } }, 'transform.numericAsString');
    refuses({ ...ok, transform: { arraysAsText: 1 } }, 'transform.arraysAsText');
    refuses({ ...ok, transform: { timeAs: 'interval' } }, 'transform.timeAs');
    refuses({ ...ok, transform: { uuidAs: 'binary' } }, 'transform.uuidAs');
    refuses({ ...ok, transform: { jsonAs: true } }, 'transform.jsonAs');
    refuses({ ...ok, retention: { keepRuns: 0 } }, 'retention.keepRuns');
    refuses({ ...ok, retention: { keep: 1 } }, 'retention.keep');
    assert.equal(resolveExportInput(ok).retention.keepRuns, null);
    assert.equal(resolveExportInput({ ...ok, retention: { keepRuns: 3 } }).retention.keepRuns, 3);
  });

  test('names the bad field', () => {
    refuses({ destination: 's3://b/p' }, 'source');
    refuses({ ...ok, partitions: { maxConcurrent: 0 } }, 'partitions.maxConcurrent');
    refuses({ ...ok, partitions: { count: 1.5 } }, 'partitions.count');
    refuses({ ...ok, batch: { rows: -1 } }, 'batch.rows');
    refuses({ ...ok, parquet: { compression: 'lzo' } }, 'parquet.compression');
    refuses({ ...ok, transform: { timestampUnit: 'ns' } }, 'transform.timestampUnit');
    refuses({ ...ok, runKey: '../etc' }, 'runKey');
    refuses({ ...ok, source: { table: 'a.b.c' } }, 'source.table');
    refuses({ ...ok, source: { table: 'x', cursor: 'a b' } }, 'source.cursor');
    refuses({ ...ok, source: { table: 'x', connection: 'has-dash' } }, 'source.connection');
    refuses({ ...ok, typo: 1 }, 'typo');
    refuses({ ...ok, batch: { rowz: 1 } }, 'batch.rowz');
    refuses(null, 'input');
  });

  test('destination must be s3:// or an absolute file:// URL', () => {
    refuses({ ...ok, destination: 'gs://b/p' }, 'destination', ErrorType.InvalidDestination);
    refuses({ ...ok, destination: 'file://relative/path' }, 'destination', ErrorType.InvalidDestination);
    refuses({ ...ok, destination: 's3://' }, 'destination', ErrorType.InvalidDestination);
    // One parser for the workflow and the worker: what the store would refuse, the input refuses.
    refuses({ ...ok, destination: 's3://xn--abc' }, 'destination', ErrorType.InvalidDestination);
    refuses({ ...ok, destination: 'file:///a/%2Fb' }, 'destination', ErrorType.InvalidDestination);
    assert.equal(resolveExportInput({ ...ok, destination: 's3://my-bucket' }).destination, 's3://my-bucket');
  });

  test('where must be one expression', () => {
    const where = (w: string) => ({ ...ok, source: { table: 'x', where: w } });
    assert.equal(
      resolveExportInput(where("status = 'a;b' AND (n > 1)")).source.where,
      "status = 'a;b' AND (n > 1)",
    );
    for (const bad of [
      'true; DROP TABLE x',
      'true -- comment',
      'true /* c */',
      'n > (1',
      'n > 1)',
      "status = 'open",
      "E'\\'' ; select 1 --'",
      '$$a$$ = x',
    ]) {
      refuses(where(bad), 'source.where', ErrorType.InvalidWhere);
    }
  });

  test('metadata columns must differ', () => {
    refuses(
      { ...ok, transform: { extractedAtColumn: 'x', extractionIdColumn: 'x' } },
      'transform.extractionIdColumn',
    );
  });
});

describe('parseQualifiedName', () => {
  test('folds plain names and keeps quoted ones', () => {
    assert.deepEqual(parseQualifiedName('Events'), { schema: 'public', name: 'events' });
    assert.deepEqual(parseQualifiedName('"My Schema"."Odd.""Name"'), {
      schema: 'My Schema',
      name: 'Odd."Name',
    });
    assert.deepEqual(parseQualifiedName('s.t'), { schema: 's', name: 't' });
  });
  test('refuses what is not a name', () => {
    for (const bad of ['', 'a.', '.a', 'a b', 'a;b', '"unterminated', 'a."b"c', '""']) {
      assert.throws(() => parseQualifiedName(bad), InputError, bad);
    }
  });
});

describe('incremental input', () => {
  test('full by default, no watermark', () => {
    const r = resolveExportInput(ok);
    assert.equal(r.mode, 'full');
    assert.equal(r.watermark, null);
  });

  test('a column, an id lag, a duration lag', () => {
    const col = resolveExportInput({
      ...ok,
      mode: 'incremental',
      incremental: { column: '"Updated At"' },
    });
    assert.deepEqual(col.watermark, { column: 'Updated At', lag: null });
    const ids = resolveExportInput({
      ...ok,
      mode: 'incremental',
      incremental: { column: 'id', lag: 100 },
    });
    assert.deepEqual(ids.watermark?.lag, { kind: 'ids', amount: 100 });
    const time = resolveExportInput({
      ...ok,
      mode: 'incremental',
      incremental: { column: 'updated_at', lag: '1 hour 30 min' },
    });
    assert.deepEqual(time.watermark?.lag, {
      kind: 'duration',
      micros: 90 * 60_000_000,
      text: '1 hour 30 min',
    });
  });

  test('bad input names the field', () => {
    refuses({ ...ok, mode: 'delta' }, 'mode');
    refuses({ ...ok, mode: 'incremental' }, 'incremental.column');
    refuses({ ...ok, incremental: { column: 'updated_at' } }, 'mode');
    refuses({ ...ok, mode: 'incremental', incremental: { column: 'a.b' } }, 'incremental.column');
    refuses({ ...ok, mode: 'incremental', incremental: { column: 'id', lag: -1 } }, 'incremental.lag');
    refuses({ ...ok, mode: 'incremental', incremental: { column: 'id', lag: 1.5 } }, 'incremental.lag');
    refuses(
      { ...ok, mode: 'incremental', incremental: { column: 't', lag: '5 parsecs' } },
      'incremental.lag',
    );
    refuses({ ...ok, mode: 'incremental', incremental: { column: 't', lag: '1 month' } }, 'incremental.lag');
    refuses({ ...ok, mode: 'incremental', incremental: { column: 't', since: 1 } }, 'incremental.since');
  });
});
