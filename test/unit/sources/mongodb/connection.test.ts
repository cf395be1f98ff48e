/**
 * The MongoDB connection settings of the config (issue 15): the connection string built from
 * hosts, account and options, the options merged into a `uri`, and `caCert` handed to the driver.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mongoClientOptions, mongoUri } from '../../../../src/sources/mongodb/connection.js';

describe('mongoUri', () => {
  it('builds the URI from hosts, user, password, authDatabase, replicaSet and encryption', () => {
    expect(mongoUri({ hosts: ['a:27017', 'b:27018'], user: 'r@der', password: 'p:w/', authDatabase: 'auth', replicaSet: 'rs0', encryption: 'ssl' })).toBe(
      'mongodb://r%40der:p%3Aw%2F@a:27017,b:27018/?authSource=auth&replicaSet=rs0&tls=true',
    );
    expect(mongoUri({ hosts: ['a:27017'], authDatabase: 'admin', encryption: 'none' })).toBe('mongodb://a:27017/');
  });

  it('adds authDatabase, replicaSet and encryption to a uri that does not say them', () => {
    expect(mongoUri({ uri: 'mongodb://u:p@h:1', authDatabase: 'auth', replicaSet: 'rs0', encryption: 'ssl' })).toBe('mongodb://u:p@h:1/?authSource=auth&replicaSet=rs0&tls=true');
    expect(mongoUri({ uri: 'mongodb://h:1/?w=1', replicaSet: 'rs0' })).toBe('mongodb://h:1/?w=1&replicaSet=rs0');
    expect(mongoUri({ uri: 'mongodb://u:p@h:1/db', authDatabase: 'admin', encryption: 'atlasSsl' })).toBe('mongodb://u:p@h:1/db?tls=true');
    // No account in the uri: no authSource.
    expect(mongoUri({ uri: 'mongodb://h:1', authDatabase: 'auth' })).toBe('mongodb://h:1');
  });

  it('never overrides what the uri says explicitly', () => {
    const uri = 'mongodb://u:p@h:1/?authSource=x&replicaSet=a&ssl=false';
    expect(mongoUri({ uri, authDatabase: 'auth', replicaSet: 'b', encryption: 'ssl' })).toBe(uri);
    // A default authentication database in the path is the uri's own say.
    expect(mongoUri({ uri: 'mongodb://u:p@h:1/own', authDatabase: 'admin' })).toBe('mongodb://u:p@h:1/own');
  });
});

describe('the driver reads the built connection string', () => {
  it('user, password and authDatabase become its credentials; replicaSet and encryption its options', () => {
    const built = (c: Parameters<typeof mongoUri>[0]) => new MongoClient(mongoUri(c)).options;
    const o = built({ hosts: ['a:1'], user: 'reader', password: 'p@ss', authDatabase: 'auth', replicaSet: 'rs9', encryption: 'ssl' });
    expect(o.credentials).toMatchObject({ username: 'reader', password: 'p@ss', source: 'auth' });
    expect(o.replicaSet).toBe('rs9');
    expect(o.tls).toBe(true);
    // Through a uri that does not say them.
    const u = built({ uri: 'mongodb://reader:pw@a:1', authDatabase: 'auth', replicaSet: 'rs9', encryption: 'ssl' });
    expect(u.credentials).toMatchObject({ username: 'reader', password: 'pw', source: 'auth' });
    expect(u.replicaSet).toBe('rs9');
    expect(u.tls).toBe(true);
    expect(built({ hosts: ['a:1'], encryption: 'none' }).tls).not.toBe(true);
  });
});

describe('caCert', () => {
  let dir: string;
  let certPath: string;
  let server: Server;
  let port: number;
  const handshakes: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-mongo-ca-'));
    certPath = join(dir, 'cert.pem');
    const keyPath = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    // A TLS endpoint with a self-signed certificate: it records each completed handshake, then hangs up.
    server = createServer({ key: readFileSync(keyPath), cert: readFileSync(certPath) }, (socket) => {
      handshakes.push('ok');
      socket.destroy();
    });
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('is read from a path (not passed on as PEM text), and PEM text is passed as is', () => {
    const pem = readFileSync(certPath, 'utf8');
    expect(mongoClientOptions({ caCert: certPath }, 'source.caCert')).toEqual({ ca: pem });
    expect(mongoClientOptions({ caCert: pem }, 'source.caCert')).toEqual({ ca: pem });
    expect(mongoClientOptions({}, 'source.caCert')).toEqual({});
    expect(() => mongoClientOptions({ caCert: join(dir, 'missing.pem') }, 'destination.mongodb.caCert')).toThrow(/missing\.pem cannot be read/);
  });

  const attempt = async (options: object): Promise<string> => {
    const client = new MongoClient(mongoUri({ hosts: [`127.0.0.1:${port}`], encryption: 'ssl' }) + '&directConnection=true', { serverSelectionTimeoutMS: 1500, ...options });
    try {
      await client.connect();
      return 'connected';
    } catch (err) {
      return (err as Error).message;
    } finally {
      await client.close().catch(() => undefined);
    }
  };

  it('makes the driver trust the server certificate: the TLS handshake completes only with it', async () => {
    const before = handshakes.length;
    const without = await attempt({});
    expect(without).toMatch(/self[- ]signed certificate/i);
    expect(handshakes.length).toBe(before);
    await attempt(mongoClientOptions({ caCert: certPath }, 'source.caCert'));
    expect(handshakes.length).toBeGreaterThan(before);
  });
});
