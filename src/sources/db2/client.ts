/**
 * The SQL boundary of the Db2 source: a connection that runs one statement and returns its rows.
 * The reader never sees a driver; `ibmdb.ts` implements this over IBM's `ibm_db`, and the tests
 * implement it over PostgreSQL holding emulated SQL Replication tables.
 */

/** A bind value. Sequence values and binary keys are written into the statement as literals instead. */
export type SqlParam = string | number | boolean | null;

/** One result row, by column name as the statement's `AS "..."` spells it (upper case). */
export type SqlRow = Record<string, unknown>;

export interface Db2Client {
  query<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlParam[]): Promise<R[]>;
  close(): Promise<void>;
}

/** Opens a new connection (autocommit, the default isolation of the server). */
export type Db2Connector = () => Promise<Db2Client>;

/** Where the source connects, as the task config gives it. */
export interface Db2ConnectionConfig {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  /** Path of the CA certificate file used to verify the server (SSL); absent for no encryption. */
  sslServerCertificate?: string;
  ssl?: boolean;
}

/** A keyword value for a CLI connection string: braced when it holds `;`, `{` or `}` or edge spaces. */
function value(v: string): string {
  return /[;{}]|^\s|\s$/.test(v) ? `{${v.replace(/}/g, '}}')}}` : v;
}

/** The Db2 CLI connection string (`DATABASE=…;HOSTNAME=…;PORT=…;PROTOCOL=TCPIP;UID=…;PWD=…;`). */
export function connectionString(c: Db2ConnectionConfig): string {
  const parts = [`DATABASE=${value(c.database)}`, `HOSTNAME=${value(c.host)}`, `PORT=${c.port}`, 'PROTOCOL=TCPIP', `UID=${value(c.user)}`, `PWD=${value(c.password)}`];
  if (c.ssl) {
    parts.push('Security=SSL');
    if (c.sslServerCertificate) parts.push(`SSLServerCertificate=${value(c.sslServerCertificate)}`);
  }
  return `${parts.join(';')};`;
}

/** The connection string with the password masked, for messages. */
export function describeConnection(c: Db2ConnectionConfig): string {
  return `${c.host}:${c.port}/${c.database} as ${c.user}`;
}
