/**
 * Importing Tributary loads no kafkajs and installs nothing; the Kafka loader installs the module
 * replacements before kafkajs loads, they take effect, and Produce v7 (what kafkajs negotiates with Kafka 3.x) goes through the one-pass encoder. If a
 * kafkajs upgrade moves the replaced files, this fails instead of silently losing the speed-up.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('kafkajs patches', () => {
  it('are installed by the Kafka loader, not on import, and serve Produce v7', () => {
    const probe = fileURLToPath(new URL('../../fixtures/kafka-patches-probe.ts', import.meta.url));
    const out = execFileSync(process.execPath, ['--import', 'tsx', probe], { encoding: 'utf8', timeout: 60_000 });
    const r = JSON.parse(out.trim().split('\n').pop() as string) as Record<string, unknown>;
    // Request: transactional id, acks, timeout, topic count, topic "t", partition count, partition,
    // batch size; batch: 61-byte header + an 8-byte record (length, attributes, timestamp and offset
    // deltas, null key, value length, "v", header count).
    expect(r).toEqual({ loadedOnImport: false, beforeLoad: false, installed: true, missing: [], kafkajsLoaded: true, v7: 7, bodyBytes: 2 + 2 + 4 + 4 + 2 + 1 + 4 + 4 + 4 + 61 + 8 });
  }, 60_000);
});
