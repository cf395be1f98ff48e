/* global performance, setTimeout, process */
// Child process: commits `perTx`-row INSERT transactions at a fixed rate on its own event loop, so
// the pipeline's work does not delay the writer, and the writer's memory is not counted in the
// pipeline's RSS. Its parameters arrive as the first IPC message. Plain JS (no loader needed).
import pg from 'pg';

const { config, firstId, perTx, rate, total, sql } = await new Promise((resolve) => process.once('message', resolve));
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
process.send({ achieved: (txs * perTx) / seconds, late, seconds }, () => process.disconnect());
