/** The activity boundary: every error becomes a typed ApplicationFailure with the right retry class. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { toActivityFailure } from '../../activities/failures.js';
import { ErrorType, InputError, PgParquetError } from '../../src/contract/errors.js';
import { ObjectStoreError } from '../../src/storage/object-store.js';
import { CopyFormatError } from '../../src/postgres/copy-decoder.js';
import { ParquetFormatError } from '../../src/parquet/format-error.js';
import { SchemaMismatchError } from '../../src/parquet/writer.js';
import { ParquetEncodeError } from '../../src/parquet/encoder-pool.js';

function mapped(err: unknown): ApplicationFailure {
  const out = toActivityFailure(err);
  assert.ok(out instanceof ApplicationFailure, String(out));
  return out;
}

/** A node-postgres DatabaseError as the driver builds it (severity + SQLSTATE). */
function pgError(code: string): Error {
  return Object.assign(new Error(`pg says ${code}`), { code, severity: 'ERROR' });
}

function errno(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, syscall: 'connect' });
}

test('every kind of error maps to its type and retry class', () => {
  const cases: [unknown, string, boolean][] = [
    [new InputError('batch.rows', 0, 'a positive integer'), ErrorType.InvalidInput, false],
    [new PgParquetError(ErrorType.VerificationFailed, 'x', true), ErrorType.VerificationFailed, true],
    [
      new ObjectStoreError('m', 'get', 's3://b/k', false, 'NoSuchBucket'),
      ErrorType.DestinationNotFound,
      false,
    ],
    [
      new ObjectStoreError('m', 'put', 's3://b/k', false, 'InvalidAccessKeyId'),
      ErrorType.DestinationDenied,
      false,
    ],
    [
      new ObjectStoreError('m', 'put', 's3://b/k', false, 'SignatureDoesNotMatch'),
      ErrorType.DestinationDenied,
      false,
    ],
    [new ObjectStoreError('m', 'put', 'file:///x', false, 'EACCES'), ErrorType.DestinationDenied, false],
    [new ObjectStoreError('m', 'put', 'file:///x', false, 'ENOTDIR'), ErrorType.DestinationNotFound, false],
    // No space left: transient whatever the store computed, since space can come back.
    [new ObjectStoreError('m', 'put', 'file:///x', false, 'ENOSPC'), ErrorType.DestinationFull, true],
    [new ObjectStoreError('m', 'putStream', 'file:///x', false, 'EDQUOT'), ErrorType.DestinationFull, true],
    // A retry class computed as retryable never makes a missing bucket retried.
    [
      new ObjectStoreError('m', 'get', 's3://b/k', true, 'NoSuchBucket'),
      ErrorType.DestinationNotFound,
      false,
    ],
    [new ObjectStoreError('m', 'put', 's3://b/k', true, 'ServiceUnavailable'), ErrorType.StorageError, true],
    [new ObjectStoreError('m', 'put', 's3://b/k', false, 'EntityTooLarge'), ErrorType.StorageError, false],
    [new CopyFormatError('truncated'), ErrorType.CopyFormat, true],
    [new ParquetFormatError('no magic'), ErrorType.ParquetFormat, false],
    [new SchemaMismatchError('other schema'), ErrorType.SchemaMismatch, false],
    [new ParquetEncodeError('thread died'), ErrorType.EncodeFailed, true],
    [pgError('40001'), ErrorType.SourceError, true],
    [pgError('57P01'), ErrorType.SourceError, true],
    [pgError('42P01'), ErrorType.SourceError, false],
    [pgError('28P01'), ErrorType.SourceError, false],
    [errno('ECONNREFUSED'), ErrorType.SourceUnavailable, true],
    [new Error('Connection terminated unexpectedly'), ErrorType.SourceUnavailable, true],
    [
      new Error('Client has encountered a connection error and is not queryable'),
      ErrorType.SourceUnavailable,
      true,
    ],
    [new Error('Client was closed and is not queryable'), ErrorType.SourceUnavailable, true],
    [new Error('timeout expired'), ErrorType.SourceUnavailable, true],
    [new TypeError('undefined is not a function'), ErrorType.Internal, true],
    ['a thrown string', ErrorType.Internal, true],
  ];
  for (const [err, type, retryable] of cases) {
    const f = mapped(err);
    assert.equal(f.type, type, `${String(err)}`);
    assert.equal(f.nonRetryable, !retryable, `${String(err)} → ${type}`);
  }
});

test('details travel with the failure; the SQLSTATE and store operation are kept', () => {
  const input = mapped(new InputError('batch.rows', 0, 'a positive integer'));
  assert.deepEqual(input.details, [{ field: 'batch.rows', value: 0, accepted: 'a positive integer' }]);
  assert.deepEqual(mapped(pgError('40001')).details, [{ sqlState: '40001' }]);
  assert.deepEqual(mapped(new ObjectStoreError('m', 'put', 's3://b/k', true, 'SlowDown')).details, [
    { operation: 'put', url: 's3://b/k', code: 'SlowDown' },
  ]);
});

test('failures Temporal made (cancellation) pass through unchanged', () => {
  const cancelled = new CancelledFailure('cancelled');
  assert.equal(toActivityFailure(cancelled), cancelled);
  const app = ApplicationFailure.nonRetryable('x', 'SomeType');
  assert.equal(toActivityFailure(app), app);
});
