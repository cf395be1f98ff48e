/**
 * Child process of kafka-sink-eos.test.ts: writes `batches` committed transactions of the shared
 * history through an exactly-once KafkaSink, then starts one more transaction, sends its data and
 * stops before the commit (printing IN_TX) so that the parent can SIGKILL it mid-transaction.
 * Prints `PID <pid>` first, so that the parent can check it killed this very process.
 * Usage: node --import tsx kafka-sink-eos-writer.ts <topic> <checkpointTopic> <transactionalId> <taskId> <batches> <batchSize>
 */
import type { Producer, Transaction } from 'kafkajs';
import { registerCodecs } from '../../src/codecs/index.js';
import { emptyCheckpoint } from '../../src/checkpoints/store.js';
import { batchOf, eosHistory, newSink } from './kafka-sink-helpers.js';

const [topic, checkpointTopic, transactionalId, taskId, batchesText, sizeText] = process.argv.slice(2) as [string, string, string, string, string, string];
console.log(`PID ${process.pid}`);
const batches = Number(batchesText);
const size = Number(sizeText);
registerCodecs();
const history = eosHistory((batches + 1) * size);
const sink = newSink(topic, {
  partitionPolicy: 'keyHash',
  exactlyOnce: { transactionalId, checkpointTopic, taskId, checkpoint: () => emptyCheckpoint(taskId), onCommitted: (cp) => console.log(`COMMITTED ${cp.position ?? ''}`) },
});
for (let b = 0; b < batches; b++) await sink.write(batchOf(history.slice(b * size, (b + 1) * size)));

// The next transaction: data and checkpoint are sent, then the commit never comes.
const producer = (sink as unknown as { producer: Producer }).producer;
const open = producer.transaction.bind(producer);
producer.transaction = async (): Promise<Transaction> => {
  const tx = await open();
  tx.commit = async () => {
    console.log('IN_TX');
    await new Promise(() => undefined);
  };
  return tx;
};
await sink.write(batchOf(history.slice(batches * size, (batches + 1) * size)));
