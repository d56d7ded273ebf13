import { join } from 'node:path';
import type { PipelineProject } from '../config/project.ts';
import { MedallionError } from '../core/errors.ts';
import { LandingSource } from './landing/landing-source.ts';
import type { Source } from './source.ts';

/** Kafka brokers from `--kafka` or MEDALLION_KAFKA_BROKERS; undefined means the landing directory. */
export function resolveBrokers(flag?: string): string | undefined {
  const v = flag ?? process.env.MEDALLION_KAFKA_BROKERS;
  return v && v.trim().length > 0 ? v.trim() : undefined;
}

/**
 * Where the source starts: `bronze` (default) after what bronze holds; `beginning` re-reads every
 * stream from its start; `{ timestampMs }` (Kafka only) from the first offset at or after that time.
 * Bronze never receives a position twice, whichever is chosen.
 */
export type StartFrom = 'bronze' | 'beginning' | { readonly timestampMs: number };

/** Options of `createEventSource`. */
export interface EventSourceOptions {
  readonly startFrom?: StartFrom;
}

/**
 * The event source of a project: Kafka when brokers are given, else the landing directory.
 * MEDALLION_KAFKA_SESSION_TIMEOUT_MS overrides the consumer group session timeout (default 30 s;
 * the broker accepts 6 s and more): how long the group waits for a member that died.
 */
export async function createEventSource(
  project: PipelineProject,
  brokers?: string,
  options: EventSourceOptions = {},
): Promise<Source> {
  const dataset = project.config.events.dataset;
  const b = resolveBrokers(brokers);
  const startFrom = options.startFrom ?? 'bronze';
  if (b) {
    const { KafkaSource, ensureTopic, parseBrokers } = await import('./kafka/index.ts');
    const { topic, groupId, clientId, partitions, autoCreateTopic } = project.config.events.kafka;
    const list = parseBrokers(b);
    if (autoCreateTopic) await ensureTopic(list, topic, partitions);
    const session = Number(process.env.MEDALLION_KAFKA_SESSION_TIMEOUT_MS);
    return new KafkaSource({
      brokers: list,
      topic,
      groupId,
      clientId,
      startFrom,
      sessionTimeoutMs: Number.isInteger(session) && session > 0 ? session : undefined,
    });
  }
  if (typeof startFrom === 'object')
    throw new MedallionError('MDL_USAGE', 'Starting from a timestamp needs a Kafka source.', {
      hint: 'Give --kafka BROKERS (or set MEDALLION_KAFKA_BROKERS), or use --from-beginning for the landing directory.',
    });
  return new LandingSource({
    dir: join(project.paths.landing, dataset),
    checkpointPath: join(project.paths.state, `ingest-landing-${dataset}.json`),
    fromBeginning: startFrom === 'beginning',
  });
}
