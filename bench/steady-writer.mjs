/* global performance, setTimeout */
// Worker thread: commits `perTx`-row INSERT transactions at a fixed rate on its own event loop, so
// the pipeline's work in the main thread does not delay the writer. Plain JS (no loader needed).
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';

const { config, firstId, perTx, rate, total, sql } = workerData;
const client = new pg.Client(config);
await client.connect();
const everyMs = (perTx * 1000) / rate;
const txs = Math.round(total / perTx);
let late = 0;
const t0 = performance.now();
for (let k = 0; k < txs; k++) {
  const wait = t0 + k * everyMs - performance.now();
  if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  else if (wait < -everyMs) late += 1;
  const from = firstId + k * perTx;
  await client.query(sql.replace('$FROM', String(from)).replace('$TO', String(from + perTx - 1)));
}
const seconds = (performance.now() - t0) / 1000;
await client.end();
parentPort.postMessage({ achieved: (txs * perTx) / seconds, late, seconds });
