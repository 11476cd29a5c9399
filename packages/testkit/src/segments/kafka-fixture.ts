import { fileURLToPath } from 'node:url';

/**
 * The log dir of a real Apache Kafka broker, committed under `packages/testkit/fixtures/kafka-logdir`
 * (its README says which Kafka and how `scripts/kafka-fixture` made it). Read it; never write to it.
 */
export function kafkaFixtureLogDir(): string {
  return fileURLToPath(new URL('../../fixtures/kafka-logdir/log-dir', import.meta.url));
}
