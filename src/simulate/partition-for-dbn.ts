import { fnv1a32 } from './seeded-random.ts';

export { fnv1a32 };

/**
 * The Kafka partition (and watermark stream) of a school's events: `fnv1a32(dbn) % partitions`.
 * The simulator assigns it and the Kafka sink sends each record to it explicitly, so that the
 * ground truth's late count can be replayed per partition exactly as refine computes it.
 */
export function partitionForDbn(dbn: string, partitions: number): number {
  return partitions <= 1 ? 0 : fnv1a32(dbn) % partitions;
}
