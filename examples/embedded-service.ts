/**
 * A Node service that embeds Tributary: adds a PostgreSQL → Kafka task, follows its status,
 * raises alerts, and serves the management API (/healthz, /readyz, /metrics, /tasks).
 *
 *   npx tsx examples/embedded-service.ts        # against the local test servers (scripts/servers.sh up)
 *
 * Environment: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, KAFKA_BROKERS, HTTP_PORT.
 */
import { createRuntime } from '../src/index.js';
import { serveHttp } from '../src/http/server.js';
import { watchAlerts } from '../src/observe/alerts.js';
import { createLogger } from '../src/observe/logger.js';

const logger = createLogger({ level: 'info', secrets: [process.env.PGPASSWORD ?? ''].filter(Boolean) });
const runtime = createRuntime({ logger });

const task = runtime.add({
  name: 'orders-to-kafka',
  source: {
    type: 'postgres',
    host: process.env.PGHOST ?? '127.0.0.1',
    port: Number(process.env.PGPORT ?? 15432),
    user: process.env.PGUSER ?? 'postgres',
    ...(process.env.PGPASSWORD ? { password: process.env.PGPASSWORD } : {}),
    database: process.env.PGDATABASE ?? 'postgres',
  },
  destination: {
    kafka: { brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(','), topic: 'orders', format: 'canal-json', createTopics: true },
  },
  objects: [{ schema: 'public', table: 'orders' }],
  monitoring: { latencyThresholdSeconds: 30, alertOnFailure: true },
});

// Follow the lifecycle: every state change, with the last error when there is one.
task.status$.subscribe((s) => logger.info('task status', { state: s.state, latencyMs: s.latencyMs, events: s.counters.events, error: s.lastError?.message }));
const alerts = watchAlerts(task, { latencyThresholdSeconds: 30, alertOnFailure: true, logger });

const http = await serveHttp(runtime, { port: Number(process.env.HTTP_PORT ?? 8470) });
logger.info('management API', { url: `http://127.0.0.1:${http.port}` });
task.start();

// Graceful shutdown: stop the task (confirming and checkpointing what was acknowledged), then the API.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    alerts.stop();
    void runtime
      .shutdown()
      .then(() => http.close())
      .then(() => process.exit(0));
  });
}
