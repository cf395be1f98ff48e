import { describe, expect, it } from 'vitest';
import { classifyError } from '../../../src/core/errors.js';

/** Builds an error the way kafkajs shapes them (name, retriable, originalError/cause). */
function kafkaError(name: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { name, ...extra });
}

describe('classifyError', () => {
  it.each([
    ['a reset connection', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['kafkajs: retries exhausted over a reset connection', kafkaError('KafkaJSNumberOfRetriesExceeded', 'Connection error: read ECONNRESET', { retriable: false })],
    ['kafkajs: a non-retriable wrapper around a connection error', kafkaError('KafkaJSNonRetriableError', 'failed', { retriable: false, cause: kafkaError('KafkaJSConnectionError', 'Connection error') })],
    ['kafkajs: originalError chain', kafkaError('KafkaJSError', 'produce failed', { retriable: false, originalError: kafkaError('KafkaJSConnectionClosedError', 'Closed connection') })],
    ['kafkajs: request timeout', kafkaError('KafkaJSRequestTimeoutError', 'Request Produce(key: 0, version: 7) timed out', { retriable: false })],
    ['an error passed from the producer thread (name lost, message kept)', new Error('KafkaJSNumberOfRetriesExceeded: Connection timeout')],
    // Seen in the fault harness: an exactly-once task whose broker was cut off looks up its transaction coordinator.
    ['kafkajs: no coordinator found (the broker unreachable)', kafkaError('KafkaJSGroupCoordinatorNotFound', 'Failed to find group coordinator', { retriable: false })],
  ])('%s is a connection failure (retried in the connection window)', (_what, err) => {
    expect(classifyError(err).kind).toBe('connection');
  });

  it('a non-retriable error that is not about the connection stays fatal', () => {
    expect(classifyError(kafkaError('KafkaJSProtocolError', 'Topic authorization failed', { retriable: false })).kind).toBe('fatal');
  });

  it('anything else is retried in the other-issues window', () => {
    expect(classifyError(new Error('lock timeout')).kind).toBe('other');
  });
});
