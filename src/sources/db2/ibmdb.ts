/**
 * The Db2 client over IBM's Node.js driver `ibm_db`, loaded only when a Db2 task connects. It is not
 * a dependency of Tributary: installing it downloads IBM Data Server Driver (clidriver), which a
 * user without Db2 sources should not need. Its absence is a FatalError naming what to install.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectionError, FatalError } from '../../core/errors.js';
import type { Db2Client, Db2ConnectionConfig, Db2Connector, SqlParam, SqlRow } from './client.js';
import { connectionString, describeConnection } from './client.js';

/** The part of ibm_db's callback API the client uses. */
interface IbmDbConnection {
  query(sql: string, params: unknown[], cb: (err: Error | null, rows: SqlRow[]) => void): void;
  close(cb: (err?: Error | null) => void): void;
}
interface IbmDbModule {
  open(connStr: string, cb: (err: Error | null, conn: IbmDbConnection) => void): void;
}

export const DRIVER_FIX =
  'Install the driver beside Tributary: npm install ibm_db. Its install downloads IBM Data Server Driver (clidriver); where that download is blocked, install clidriver first and set IBM_DB_HOME to its folder before npm install.';

let loaded: Promise<IbmDbModule> | null = null;

/** `import('ibm_db')`, once; its absence or a broken native binding becomes a FatalError. */
export function loadIbmDb(importer: (name: string) => Promise<unknown> = (name) => import(name)): Promise<IbmDbModule> {
  if (loaded) return loaded;
  const attempt = importer('ibm_db').then(
    (mod) => {
      const m = ((mod as { default?: unknown }).default ?? mod) as Partial<IbmDbModule>;
      if (typeof m.open !== 'function') throw new FatalError('DB2_DRIVER_BROKEN', 'The module ibm_db was found but has no open() function.', { object: 'ibm_db', fix: DRIVER_FIX });
      return m as IbmDbModule;
    },
    (err: unknown) => {
      const e = err as { code?: string; message?: string };
      const absent = e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND' || /Cannot find (module|package) 'ibm_db'/.test(e.message ?? '');
      throw new FatalError(
        absent ? 'DB2_DRIVER_MISSING' : 'DB2_DRIVER_BROKEN',
        absent ? 'A Db2 source needs the Node.js driver ibm_db, which is not installed.' : `The Db2 driver ibm_db could not be loaded: ${e.message ?? String(err)}`,
        { object: 'ibm_db', field: 'source.type', fix: DRIVER_FIX, cause: err },
      );
    },
  );
  loaded = attempt;
  attempt.catch(() => (loaded = null));
  return attempt;
}

/** A CA certificate given as PEM text is written to a private file: the CLI driver takes a path. */
function certificatePath(caCert: string | undefined): string | undefined {
  if (caCert === undefined) return undefined;
  if (!caCert.includes('-----BEGIN')) return caCert;
  const dir = mkdtempSync(join(tmpdir(), 'tributary-db2-'));
  const file = join(dir, 'ca.pem');
  writeFileSync(file, caCert, { mode: 0o600 });
  return file;
}

class IbmDbClient implements Db2Client {
  constructor(private readonly conn: IbmDbConnection) {}
  query<R extends SqlRow = SqlRow>(sql: string, params: readonly SqlParam[] = []): Promise<R[]> {
    return new Promise((resolve, reject) => this.conn.query(sql, [...params], (err, rows) => (err ? reject(err) : resolve((rows ?? []) as R[]))));
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.conn.close(() => resolve()));
  }
}

export function ibmDbConnector(config: Omit<Db2ConnectionConfig, 'sslServerCertificate'> & { caCert?: string }): Db2Connector {
  let cert: string | undefined;
  return async () => {
    const driver = await loadIbmDb();
    if (config.ssl && cert === undefined) cert = certificatePath(config.caCert);
    const connStr = connectionString({ ...config, ...(cert !== undefined ? { sslServerCertificate: cert } : {}) });
    const conn = await new Promise<IbmDbConnection>((resolve, reject) =>
      driver.open(connStr, (err, c) =>
        err
          ? reject(
              new ConnectionError('SOURCE_UNREACHABLE', `Cannot connect to Db2 database ${describeConnection(config)}: ${err.message}`, {
                object: config.database,
                cause: err,
                fix: 'Check host, port (50000 by default), database name, account and password, and that the server accepts TCP/IP connections.',
              }),
            )
          : resolve(c),
      ),
    );
    return new IbmDbClient(conn);
  };
}
