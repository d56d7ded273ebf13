import { join } from 'node:path';
import type { PipelineProject } from '../config/project.ts';
import { LandingSource } from './landing/landing-source.ts';
import type { Source } from './source.ts';

/** Kafka brokers from `--kafka` or MEDALLION_KAFKA_BROKERS; undefined means the landing directory. */
export function resolveBrokers(flag?: string): string | undefined {
  const v = flag ?? process.env.MEDALLION_KAFKA_BROKERS;
  return v && v.trim().length > 0 ? v.trim() : undefined;
}

/** The event source of a project: Kafka when brokers are given, else the landing directory. */
export async function createEventSource(project: PipelineProject, brokers?: string): Promise<Source> {
  const dataset = project.config.events.dataset;
  const b = resolveBrokers(brokers);
  if (b) {
    const { KafkaSource, ensureTopic, parseBrokers } = await import('./kafka/index.ts');
    const { topic, groupId, clientId, partitions, autoCreateTopic } = project.config.events.kafka;
    const list = parseBrokers(b);
    if (autoCreateTopic) await ensureTopic(list, topic, partitions);
    return new KafkaSource({ brokers: list, topic, groupId, clientId });
  }
  return new LandingSource({
    dir: join(project.paths.landing, dataset),
    checkpointPath: join(project.paths.state, `ingest-landing-${dataset}.json`),
  });
}
