import pg from 'pg';
import { newKafkaClient } from '../kafka/kafkajs.js';
import { createRuntime } from '../runtime/createRuntime.js';
import { createLogger } from '../observe/logger.js';
import { flag, type Invocation } from './args.js';
import { progressLine } from './render.js';

const DB = 'tributary_demo';
const TOPIC = 'tributary-demo';

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

/**
 * The README's first command: a PostgreSQL → Kafka task on the local test servers
 * (scripts/servers.sh up). Creates sample tables, copies them (full sync with progress), streams
 * more writes, shows Canal JSON messages arriving, checks every change was delivered, cleans up.
 */
export async function runDemo(args: Invocation): Promise<number> {
  const pgPort = Number(flag(args, 'pgPort') ?? process.env.TRIBUTARY_PG_PORT ?? 15432);
  const broker = flag(args, 'kafka') ?? process.env.TRIBUTARY_KAFKA_BROKERS ?? '127.0.0.1:19092';
  const admin = new pg.Client({ host: '127.0.0.1', port: pgPort, user: 'postgres', database: 'postgres' });
  await admin.connect();
  await admin.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active`, [DB]);
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DB}`);
  await admin.end();

  const db = new pg.Client({ host: '127.0.0.1', port: pgPort, user: 'postgres', database: DB });
  await db.connect();
  await db.query(`CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text, since date DEFAULT current_date)`);
  await db.query(`CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int REFERENCES customers, total numeric(12,2), status text, created timestamptz DEFAULT now())`);
  await db.query(`INSERT INTO customers (id, name, email) SELECT g, 'Customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 500) g`);
  await db.query(`INSERT INTO orders (id, customer_id, total, status) SELECT g, g % 500 + 1, round((random() * 500)::numeric, 2), 'new' FROM generate_series(1, 20000) g`);
  await db.query('ANALYZE');
  say(`demo: database ${DB} with customers (500 rows) and orders (20000 rows) on 127.0.0.1:${pgPort}`);

  const kafka = newKafkaClient({ clientId: 'tributary-demo', brokers: [broker] });
  const kadmin = kafka.admin();
  await kadmin.connect();
  if ((await kadmin.listTopics()).includes(TOPIC)) await kadmin.deleteTopics({ topics: [TOPIC] });
  await new Promise((r) => setTimeout(r, 500));
  await kadmin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
  await kadmin.disconnect();
  say(`demo: Kafka topic ${TOPIC} (3 partitions) on ${broker}`);

  const runtime = createRuntime({ logger: createLogger({ level: 'warn' }), confirmIntervalMs: 250 });
  const task = runtime.add({
    name: 'demo',
    source: { type: 'postgres', host: '127.0.0.1', port: pgPort, user: 'postgres', database: DB },
    destination: { kafka: { brokers: [broker], topic: TOPIC, format: 'canal-json', compression: 'lz4', partitionPolicy: 'keyHash' } },
    objects: [{ schema: 'public', table: 'customers' }, { schema: 'public', table: 'orders' }],
    checkpoints: { store: 'file', dir: '.cache/demo-checkpoints' },
    fullSync: { chunkRows: 5000, parallelism: 2 },
  });
  let shown = 0;
  let delivered = 0;
  const consumer = kafka.consumer({ groupId: `tributary-demo-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      delivered += 1;
      const text = message.value?.toString() ?? '';
      if (text.includes('"type":"UPDATE"') && shown < 3) {
        shown += 1;
        say(`demo: message ${delivered}: ${text}`);
      }
    },
  });

  const startedAt = Date.now();
  let last = '';
  const ticker = setInterval(() => {
    const line = progressLine(task.status, startedAt, 0);
    if (line !== last) say(`demo: ${line}`);
    last = line;
  }, 1000);
  task.start();
  const s = await task.waitFor((st) => st.state === 'incremental' || st.state === 'failed' || st.state === 'precheckFailed', 120_000);
  if (s.state !== 'incremental') {
    clearInterval(ticker);
    say(`demo: task ended in ${s.state}: ${s.lastError?.message ?? JSON.stringify(s.precheck?.filter((i) => i.status !== 'pass'))}`);
    await runtime.shutdown();
    await consumer.disconnect();
    return 1;
  }
  say(`demo: full sync done (${task.status.counters.snapshotRows} rows); now writing 200 updates and 50 new orders`);
  for (let i = 0; i < 200; i++) await db.query(`UPDATE orders SET status = 'paid', total = total + 1 WHERE id = $1`, [i * 97 + 1]);
  await db.query(`INSERT INTO orders (id, customer_id, total, status) SELECT g, g % 500 + 1, 42.00, 'new' FROM generate_series(20001, 20050) g`);
  const expected = 500 + 20000 + 200 + 50;
  const deadline = Date.now() + 60_000;
  while (delivered < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  clearInterval(ticker);
  say(`demo: ${progressLine(task.status, startedAt, 0)}`);
  say(`demo: ${delivered} messages delivered to ${TOPIC} (expected at least ${expected})`);
  await consumer.disconnect();
  task.release();
  await task.waitFor((st) => st.state === 'released' || st.state === 'releaseFailed', 30_000).catch(() => undefined);
  await runtime.shutdown();
  await db.end();
  const ok = delivered >= expected;
  say(ok ? 'demo: done — every change arrived; slot and publication released.' : 'demo: FAILED — some changes did not arrive in time.');
  return ok ? 0 : 1;
}
