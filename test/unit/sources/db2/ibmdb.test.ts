import { describe, expect, it } from 'vitest';
import { FatalError } from '../../../../src/core/errors.js';
import { connectionString } from '../../../../src/sources/db2/client.js';
import { DRIVER_FIX, loadIbmDb } from '../../../../src/sources/db2/ibmdb.js';
import { db2Identifier } from '../../../../src/sources/db2/source.js';

describe('the ibm_db driver boundary', () => {
  it('turns an absent ibm_db into a FatalError naming what to install', async () => {
    const missing = Object.assign(new Error("Cannot find package 'ibm_db' imported from /x.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    const err = await loadIbmDb(() => Promise.reject(missing)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FatalError);
    expect(err).toMatchObject({ code: 'DB2_DRIVER_MISSING', kind: 'fatal', fix: DRIVER_FIX });
    expect((err as FatalError).fix).toContain('npm install ibm_db');
  });

  it('reports a driver that is present but cannot load (native binding) with its cause', async () => {
    const err = await loadIbmDb(() => Promise.reject(new Error('libdb2.so.1: cannot open shared object file'))).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DB2_DRIVER_BROKEN' });
    expect((err as Error).message).toContain('libdb2.so.1');
  });

  it('is not loaded when the module is merely imported (only when a Db2 task connects)', async () => {
    const mod = await import('../../../../src/sources/db2/index.js');
    expect(typeof mod.db2SourceFactory).toBe('function');
  });

  it('builds a CLI connection string, bracing values with separators', () => {
    expect(connectionString({ host: 'db.example', port: 50000, database: 'SAMPLE', user: 'db2inst1', password: 'p;w{x}' })).toBe('DATABASE=SAMPLE;HOSTNAME=db.example;PORT=50000;PROTOCOL=TCPIP;UID=db2inst1;PWD={p;w{x}}};');
    expect(connectionString({ host: 'h', port: 1, database: 'D', user: 'u', password: 'p', ssl: true, sslServerCertificate: '/etc/ca.pem' })).toContain('Security=SSL;SSLServerCertificate=/etc/ca.pem;');
  });

  it('folds ordinary identifiers to upper case as Db2 does, keeps others verbatim', () => {
    expect(db2Identifier('dts_db2_heartbeat')).toBe('DTS_DB2_HEARTBEAT');
    expect(db2Identifier('My Table')).toBe('My Table');
  });
});

describe('the default registry', () => {
  it('registers the db2 source: a Db2 config builds a Db2Source, whose precheck names the missing driver', async () => {
    const { createRuntime } = await import('../../../../src/index.js');
    const runtime = createRuntime();
    const task = runtime.add({
      name: 'db2-registry',
      source: { type: 'db2', host: '127.0.0.1', port: 1, user: 'db2inst1', password: 'x', database: 'SAMPLE' },
      destination: { kafka: { brokers: ['127.0.0.1:1'], topic: 't' } },
      objects: [{ schema: 'DB2INST1' }],
    });
    expect(task.source.kind).toBe('db2');
    const items = await task.source.precheck();
    expect(items).toEqual([expect.objectContaining({ id: 'source.connect', status: 'fail', detail: expect.stringContaining('ibm_db') })]);
    expect(items[0]?.fix).toContain('npm install ibm_db');
  }, 30_000); // imports the whole library: seconds on a loaded 2-core machine
});
