/**
 * The fault harness: `npm run faults` runs every scenario in every phase against private servers
 * of its own (PostgreSQL 127.0.0.1:15632, Kafka 127.0.0.1:19292, proxies on 15633 and 19296),
 * prints a markdown table and writes the full results as JSON under faults/results/.
 *
 *   npm run faults                       every scenario, full and incremental (about an hour)
 *   npm run faults -- --quick            the short form for CI (3 scenarios, a few minutes)
 *   npm run faults -- --only 'slot'      scenarios whose name contains the text (repeatable)
 *   npm run faults -- --phase full       one phase only
 *   npm run faults -- --keep-servers     leave the servers running afterwards
 *
 * Exits 1 when a run missed its requirement (lost or wrong rows, a task stuck, a failure that was
 * not required), 0 otherwise.
 */
import { FAULTS } from './config.js';

// The project's test helpers (support.ts, verify-topic.ts) read the servers from the environment
// when first imported: point them at the harness's private servers before anything imports them.
process.env.TRIBUTARY_PG_PORT = String(FAULTS.pgPort);
process.env.TRIBUTARY_KAFKA_BROKERS = `127.0.0.1:${FAULTS.kafkaPort}`;
process.env.TRIBUTARY_KAFKA_PORT = String(FAULTS.kafkaPort);

const { main } = await import('./main.js');
process.exitCode = await main(process.argv.slice(2));
