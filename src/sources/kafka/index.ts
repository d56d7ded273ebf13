/**
 * Medallion's Kafka adapter (on @platformatic/kafka, whose types never leave this folder): the
 * `KafkaSource` of bronze ingestion, the simulator's `KafkaEventSink`, and admin helpers.
 */
export { committedOffsets, deleteTopic, endOffsets, ensureTopic } from './kafka-admin.ts';
export { CONNECT_DEADLINE_MS } from './kafka-errors.ts';
export { type KafkaEventMessage, KafkaEventSink, type KafkaEventSinkOptions } from './kafka-event-sink.ts';
export { KafkaSource, type KafkaSourceOptions, type KafkaStartFrom } from './kafka-source.ts';
export { parseBrokers } from './parse-brokers.ts';
