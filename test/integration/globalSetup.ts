import { connect } from 'node:net';
import { servers } from './servers.js';

function probe(host: string, port: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Integration tests need the real servers. `npm test` starts them first (scripts/servers.sh up);
 * when one is not listening the whole run fails here, loudly, instead of skipping tests.
 */
export default async function setup(): Promise<void> {
  const [kafkaHost, kafkaPort] = (servers.kafka.brokers[0] ?? '').split(':');
  const checks: Array<[string, string, number]> = [
    ['PostgreSQL', servers.postgres.host, servers.postgres.port],
    ['Kafka', kafkaHost ?? '127.0.0.1', Number(kafkaPort)],
  ];
  const down: string[] = [];
  for (const [name, host, port] of checks) {
    if (!(await probe(host, port))) down.push(`${name} at ${host}:${port}`);
  }
  if (down.length > 0) {
    throw new Error(
      `Integration tests need real servers, and these are not listening: ${down.join(', ')}. ` +
        'Start them with `bash scripts/servers.sh up` (npm test does this first).',
    );
  }
}
