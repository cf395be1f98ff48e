/**
 * MongoDB connection settings from the config: the connection string and the driver's TLS options.
 * Shared by the source, the destination and the config cross-checks.
 */
import type { MongoClientOptions } from 'mongodb';
import { pemOf } from '../../sinks/kafka/clientConfig.js';

/** The options (query) of a connection string, keys lower-cased (the driver reads them case-insensitively). */
export function uriOptions(uri: string): Map<string, string> {
  const q = uri.indexOf('?');
  const out = new Map<string, string>();
  if (q < 0) return out;
  for (const [k, v] of new URLSearchParams(uri.slice(q + 1))) out.set(k.toLowerCase(), v);
  return out;
}

/** The default authentication database a connection string names in its path (`mongodb://h/db`), if any. */
export function uriPathDatabase(uri: string): string | undefined {
  const rest = uri.replace(/^mongodb(\+srv)?:\/\//, '');
  const slash = rest.indexOf('/');
  if (slash < 0) return undefined;
  const db = rest.slice(slash + 1).split('?')[0] ?? '';
  return db === '' ? undefined : decodeURIComponent(db);
}

/** True when the connection string turns TLS on (`tls=true` or `ssl=true`, or a `mongodb+srv` URI without `tls=false`). */
export function uriTls(uri: string): boolean | undefined {
  const o = uriOptions(uri);
  const v = o.get('tls') ?? o.get('ssl');
  if (v !== undefined) return v === 'true';
  return uri.startsWith('mongodb+srv://') ? true : undefined;
}

export interface MongoConnectionConfig {
  uri?: string | undefined;
  hosts?: readonly string[] | undefined;
  user?: string | undefined;
  password?: string | undefined;
  authDatabase?: string | undefined;
  replicaSet?: string | undefined;
  encryption?: string | undefined;
  caCert?: string | undefined;
}

/**
 * The connection string: `uri` with `authDatabase`, `replicaSet` and `encryption` added as
 * `authSource`, `replicaSet` and `tls` where the URI does not say them itself (what the URI says
 * wins; validation refuses a contradiction), or one built from hosts, account and options.
 */
export function mongoUri(c: MongoConnectionConfig): string {
  const params = new URLSearchParams();
  if (c.uri !== undefined) {
    const has = uriOptions(c.uri);
    const hasCredentials = /^mongodb(\+srv)?:\/\/[^/?]*@/.test(c.uri);
    if (hasCredentials && c.authDatabase && !has.has('authsource') && uriPathDatabase(c.uri) === undefined) params.set('authSource', c.authDatabase);
    if (c.replicaSet && !has.has('replicaset')) params.set('replicaSet', c.replicaSet);
    if (c.encryption && c.encryption !== 'none' && uriTls(c.uri) === undefined) params.set('tls', 'true');
    const q = params.toString();
    if (q === '') return c.uri;
    if (c.uri.includes('?')) return `${c.uri}${c.uri.endsWith('?') || c.uri.endsWith('&') ? '' : '&'}${q}`;
    // `mongodb://h` and `mongodb://h/db` both take the options after a slash.
    const authority = c.uri.replace(/^mongodb(\+srv)?:\/\//, '');
    return `${c.uri}${authority.includes('/') ? '' : '/'}?${q}`;
  }
  const auth = c.user ? `${encodeURIComponent(c.user)}${c.password ? `:${encodeURIComponent(c.password)}` : ''}@` : '';
  if (c.user && c.authDatabase) params.set('authSource', c.authDatabase);
  if (c.replicaSet) params.set('replicaSet', c.replicaSet);
  if (c.encryption && c.encryption !== 'none') params.set('tls', 'true');
  const q = params.toString();
  return `mongodb://${auth}${(c.hosts ?? ['127.0.0.1:27017']).join(',')}/${q ? `?${q}` : ''}`;
}

/**
 * The driver options beyond the connection string: `caCert` (PEM text, or the path of a PEM file,
 * read here so an unreadable file fails naming the option) as the trusted CA of the TLS connection.
 */
export function mongoClientOptions(c: MongoConnectionConfig, field: string): MongoClientOptions {
  if (c.caCert === undefined) return {};
  return { ca: pemOf(c.caCert, field) };
}
