// Test files load kafkajs themselves (test/integration/support.ts reads topics with it), so, as a
// host process that uses kafkajs must, they install Tributary's fast path before anything loads it.
import { installKafkaFastPath } from '../../src/kafka/patches.js';

installKafkaFastPath();
