import type { TestContext } from 'node:test';

/**
 * Kafka brokers for integration tests: MEDALLION_TEST_KAFKA (host:port), set by `.ci/run` and by
 * `scripts/kafka.sh start`. Outside CI a missing broker skips the test, loudly; in CI it fails.
 */
export function kafkaBrokersOrSkip(t: TestContext): string | undefined {
  const brokers = process.env.MEDALLION_TEST_KAFKA;
  if (brokers) return brokers;
  if (process.env.CI)
    throw new Error('MEDALLION_TEST_KAFKA is not set in CI: .ci/run must start Kafka (scripts/kafka.sh start).');
  const msg = 'SKIPPED: no Kafka broker (set MEDALLION_TEST_KAFKA=127.0.0.1:9092 after `scripts/kafka.sh start`)';
  process.stderr.write(`\n*** ${msg} ***\n\n`);
  t.skip(msg);
  return undefined;
}
