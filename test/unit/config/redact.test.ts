import { describe, expect, it } from 'vitest';
import { collectSecrets, redactConfig, redactText, redactUri, validateTaskConfig } from '../../../src/config/index.js';

describe('redaction', () => {
  it('masks passwords, sasl secrets, uri credentials, webhook tokens and PEM bodies', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
    const out = redactConfig({
      source: { type: 'mongodb', uri: 'mongodb://reader:p%40ss@h1:27017,h2/?replicaSet=rs0', password: 'pw', caCert: pem, shard: { user: 's', password: 'spw' } },
      destination: { kafka: { brokers: ['k:9092'], sasl: { mechanism: 'plain', username: 'u', password: 'kpw' } } },
      monitoring: { webhookUrl: 'https://hooks.example.com/x?token=abc&channel=ops' },
      labels: { team: 'a' },
    });
    expect(out).toEqual({
      source: { type: 'mongodb', uri: 'mongodb://reader:****@h1:27017,h2/?replicaSet=rs0', password: '****', caCert: `<PEM ${pem.length} bytes>`, shard: { user: 's', password: '****' } },
      destination: { kafka: { brokers: ['k:9092'], sasl: { mechanism: 'plain', username: 'u', password: '****' } } },
      monitoring: { webhookUrl: 'https://hooks.example.com/x?token=****&channel=****' },
      labels: { team: 'a' },
    });
  });

  it('does not modify the input', () => {
    const input = { source: { password: 'x' } };
    redactConfig(input);
    expect(input.source.password).toBe('x');
  });

  it('redacts a validated config, keeping everything else', () => {
    const c = validateTaskConfig(
      { name: 'r', source: { type: 'postgres', uri: 'postgres://app:topsecret@db:5432/shop', database: 'shop' }, destination: { kafka: { brokers: 'k', topic: 't' } }, objects: [{ table: 'a' }] },
      { env: {} },
    );
    const r = redactConfig(c);
    expect(r.source).toMatchObject({ uri: 'postgres://app:****@db:5432/shop', database: 'shop', port: 5432 });
    expect(JSON.stringify(r)).not.toContain('topsecret');
  });

  it('redactUri masks only the password part', () => {
    expect(redactUri('connect mongodb://user:pass@h:1/db failed; retry postgres://a:b@c/d')).toBe('connect mongodb://user:****@h:1/db failed; retry postgres://a:****@c/d');
    expect(redactUri('mongodb://h:27017/db')).toBe('mongodb://h:27017/db');
    expect(redactUri('mongodb://onlyuser@h')).toBe('mongodb://onlyuser@h');
  });

  it('redactText masks every given secret, longest first', () => {
    expect(redactText('pw=abc and abcdef here', ['abc', 'abcdef'])).toBe('pw=**** and **** here');
    expect(redactText('nothing', [])).toBe('nothing');
  });

  it('collectSecrets finds secret keys and uri passwords', () => {
    expect(collectSecrets({ a: { password: 'p1' }, b: ['x'], uri: 'mongodb://u:p%402@h', token: 42 }).sort()).toEqual(['42', 'p%402', 'p1', 'p@2'].sort());
  });
});
