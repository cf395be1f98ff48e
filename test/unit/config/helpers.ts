import { ConfigError } from '../../../src/core/errors.js';
import type { ConfigIssue } from '../../../src/core/errors.js';
import { validateTaskConfig } from '../../../src/config/index.js';

export function pgTask(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'pg-task',
    source: { type: 'postgres', host: 'db', user: 'u', password: 'pg-Secret-1', database: 'shop' },
    destination: { kafka: { brokers: ['k1'], topic: 't' } },
    objects: [{ schema: 'public', table: 'orders' }],
    ...overrides,
  };
}

export function mongoTask(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'mongo-task',
    source: { type: 'mongodb', hosts: ['m1'], user: 'u', password: 'mongo-Secret-1' },
    destination: { kafka: { brokers: 'k1:9093', topic: 't' } },
    objects: [{ database: 'app', collection: 'events' }],
    ...overrides,
  };
}

/** Runs validation and returns the issues (fails the test if the config was accepted). */
export function issuesOf(input: unknown, env: Record<string, string> = {}): ConfigIssue[] {
  try {
    validateTaskConfig(input, { env });
  } catch (e) {
    if (e instanceof ConfigError) return [...e.issues];
    throw e;
  }
  throw new Error('expected the config to be rejected');
}

export function paths(issues: readonly ConfigIssue[]): string[] {
  return issues.map((i) => i.path);
}
