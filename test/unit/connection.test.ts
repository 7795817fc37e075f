/** Connection resolution as libpq users expect it: services from pg_service.conf, sslmode's meaning, typed refusals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { ErrorType, PgParquetError } from '../../src/contract/errors.js';
import { parseServiceFile, resolveConnection, type ReadText } from '../../src/postgres/connection.js';

const SERVICES = `
# the warehouse replica
[warehouse]
host = db.internal
port=6543
dbname = lake
user = exporter
password = s3cret
connect_timeout = 7

[tls]
host=db.internal
sslmode=require
sslrootcert=/certs/root.crt

[odd]
host=db.internal
target_session_attrs=read-write
`;

/** A file system holding only `files`. */
function files(entries: Record<string, string>): ReadText {
  return (path) => entries[path];
}
const fs = files({ '/svc/pg_service.conf': SERVICES, '/certs/root.crt': 'ROOT' });
const base = { PGSERVICEFILE: '/svc/pg_service.conf', PGSYSCONFDIR: '/nowhere' };

function refused(fn: () => unknown): PgParquetError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PgParquetError, String(err));
    assert.equal(err.type, ErrorType.ConnectionNotConfigured);
    assert.equal(err.retryable, false);
    return err;
  }
  assert.fail('expected a refusal');
}

test('pg_service.conf: sections of keyword=value, comments and blank lines skipped', () => {
  const services = parseServiceFile(SERVICES);
  assert.deepEqual([...services.keys()], ['warehouse', 'tls', 'odd']);
  assert.equal(services.get('warehouse')?.port, '6543');
});

test('PGSERVICE is honoured for the default connection', () => {
  const config = resolveConnection('default', { ...base, PGSERVICE: 'warehouse' }, fs);
  assert.equal(config.host, 'db.internal');
  assert.equal(config.port, 6543);
  assert.equal(config.database, 'lake');
  assert.equal(config.user, 'exporter');
  assert.equal(config.password, 's3cret');
  assert.equal(config.connectionTimeoutMillis, 7000);
  assert.equal(config.application_name, 'pg-parquet');
});

test('service= in a URL fills in what the URL leaves out; the URL wins', () => {
  const config = resolveConnection(
    'wh',
    { ...base, PG_PARQUET_CONNECTION_WH: 'postgresql://me@other:5433/?service=warehouse' },
    fs,
  );
  assert.equal(config.host, 'other');
  assert.equal(config.port, 5433);
  assert.equal(config.user, 'me');
  assert.equal(config.database, 'lake');
  assert.equal(config.password, 's3cret');
});

test('an unknown service, an unsupported keyword or a keyword=value string is refused, typed', () => {
  const missing = refused(() => resolveConnection('default', { ...base, PGSERVICE: 'nope' }, fs));
  assert.equal(missing.details.service, 'nope');
  assert.deepEqual(missing.details.files, ['/svc/pg_service.conf', '/nowhere/pg_service.conf']);
  assert.equal(
    refused(() => resolveConnection('default', { ...base, PGSERVICE: 'odd' }, fs)).details.keyword,
    'target_session_attrs',
  );
  refused(() => resolveConnection('default', { DATABASE_URL: 'host=db dbname=lake' }, fs));
  refused(() => resolveConnection('default', {}, fs));
  refused(() => resolveConnection('x', { DATABASE_URL: 'postgresql://db/lake' }, fs));
});

test('the system service file is read when the user file lacks the service', () => {
  const config = resolveConnection(
    'default',
    { PGSERVICEFILE: '/home/me/.pg_service.conf', PGSYSCONFDIR: '/etc/pg', PGSERVICE: 'sys' },
    files({ '/etc/pg/pg_service.conf': '[sys]\nhost=/var/run/postgresql\ndbname=s\n' }),
  );
  assert.equal(config.host, '/var/run/postgresql');
  assert.equal(config.database, 's');
});

function ssl(url: string, env: NodeJS.ProcessEnv = {}): pg.ClientConfig['ssl'] {
  return resolveConnection('default', { DATABASE_URL: url, ...env }, fs).ssl;
}

test('sslmode has libpq meaning', () => {
  assert.equal(ssl('postgresql://db/x?sslmode=disable'), false);
  assert.equal(ssl('postgresql://db/x?sslmode=allow'), false);
  assert.deepEqual(ssl('postgresql://db/x?sslmode=prefer'), { rejectUnauthorized: false });
  // require: encrypted, no verification, unless a root certificate is given (then as verify-ca).
  assert.deepEqual(ssl('postgresql://db/x?sslmode=require'), { rejectUnauthorized: false });
  const withRoot = ssl('postgresql://db/x?sslmode=require&sslrootcert=/certs/root.crt');
  assert.ok(
    typeof withRoot === 'object' && withRoot.ca === 'ROOT' && withRoot.rejectUnauthorized === undefined,
  );
  assert.equal(typeof withRoot.checkServerIdentity, 'function');
  const verifyCa = ssl('postgresql://db/x?sslmode=verify-ca&sslrootcert=/certs/root.crt');
  assert.ok(
    typeof verifyCa === 'object' &&
      verifyCa.ca === 'ROOT' &&
      typeof verifyCa.checkServerIdentity === 'function',
  );
  // verify-full: chain and host name, the TLS defaults.
  assert.deepEqual(ssl('postgresql://db/x?sslmode=verify-full'), {});
  // Without sslmode anywhere: node-postgres' default, no TLS settings at all.
  assert.equal(ssl('postgresql://db/x'), undefined);
});

test('sslmode comes from the URL, else the service, else PGSSLMODE', () => {
  assert.equal(ssl('postgresql://db/x', { PGSSLMODE: 'disable' }), false);
  assert.equal(ssl('postgresql://db/x?sslmode=disable', { PGSSLMODE: 'require' }), false);
  const fromService = resolveConnection(
    'default',
    { ...base, PGSERVICE: 'tls', PGSSLMODE: 'disable' },
    fs,
  ).ssl;
  assert.ok(typeof fromService === 'object' && fromService.ca === 'ROOT');
});

test('a bad sslmode, verify-ca without a root certificate, or a missing certificate file is refused', () => {
  assert.equal(refused(() => ssl('postgresql://db/x?sslmode=bogus')).details.sslmode, 'bogus');
  refused(() => ssl('postgresql://db/x?sslmode=verify-ca'));
  refused(() => ssl('postgresql://db/x?sslmode=require&sslrootcert=/certs/missing.crt'));
  refused(() => ssl('postgresql://db/x', { PGSSLMODE: 'no-verify' }));
});
