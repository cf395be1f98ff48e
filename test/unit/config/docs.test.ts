import { describe, expect, it } from 'vitest';
import { describeOptions, generateConfigDocs, shippedSchemas } from '../../../src/config/index.js';

describe('configuration reference', () => {
  const md = generateConfigDocs();
  const rows = describeOptions();

  it('has a section for every top-level option', () => {
    const keys = Object.keys(shippedSchemas().file.shape);
    expect(keys).toEqual(['name', 'environment', 'labels', 'source', 'destination', 'syncTypes', 'conflictMode', 'nameCase', 'objects', 'exclude', 'throttle', 'retry', 'etl', 'monitoring', 'checkpoints', 'fullSync']);
    for (const k of keys) expect(md).toContain(`## \`${k}\``);
  });

  it('lists types, defaults and descriptions', () => {
    const row = (p: string, variant?: string) => rows.find((r) => r.path === p && (variant === undefined || r.variant === variant));
    expect(row('retry.connectionMinutes')).toMatchObject({ type: 'integer 10..1440', default: '720', required: false });
    expect(row('retry.otherMinutes')).toMatchObject({ type: 'integer 1..1440', default: '10' });
    expect(row('destination.kafka.compression')).toMatchObject({ type: '"lz4" \\| "gzip" \\| "snappy" \\| "none"', default: '"lz4"' });
    expect(row('destination.kafka.maxMessageBytes')?.default).toBe('10485760');
    expect(row('source.authDatabase', 'source.type = mongodb')?.default).toBe('"admin"');
    expect(row('source.port', 'source.type = db2')?.default).toBe('50000');
    expect(row('source.heartbeat.table', 'source.type = postgres')?.default).toBe('"dts_postgres_heartbeat"');
    expect(row('objects[].partitionKey')).toMatchObject({ type: 'list of string', required: false });
    expect(row('checkpoints.dir')?.default).toBe('".tributary/checkpoints"');
    expect(row('name')).toMatchObject({ type: 'string', required: true });
    for (const r of rows) expect(r.description, r.path).not.toBe('');
  });

  it('renders markdown table rows and the ETL section', () => {
    expect(md).toContain('| `retry.connectionMinutes` | integer 10..1440 | `720` |  |');
    expect(md).toContain('## ETL language (`etl.expression`)');
    expect(md).toContain('`upper`');
  });
});
