import { z } from 'zod';

/**
 * The pipeline project's config file (`medallion.yml`), validated once at the edge with unknown
 * keys rejected. The descriptions here are the reference documentation (`medallion config --docs`).
 */
const kafkaSchema = z.strictObject({
  topic: z.string().min(1).describe('Kafka topic the event stream is produced to and consumed from.'),
  groupId: z
    .string()
    .min(1)
    .describe('Consumer group of `medallion ingest`; several processes in one group share the partitions.'),
  partitions: z
    .number()
    .int()
    .min(1)
    .max(1024)
    .default(3)
    .describe('Partitions to create when the topic does not exist.'),
  autoCreateTopic: z
    .boolean()
    .default(true)
    .describe('Create the topic when it is missing (off in production clusters that forbid it).'),
  clientId: z.string().default('medallion').describe('Kafka client id.'),
});

const batchSchema = z.strictObject({
  maxRecords: z
    .number()
    .int()
    .min(1)
    .default(20_000)
    .describe(
      'Most records in one micro-batch. An ingester holds at most two batches: larger ones use more memory (and raise the heap cap of `medallion ingest`).',
    ),
  maxBytes: z
    .number()
    .int()
    .min(1024)
    .default(8 * 1024 * 1024)
    .describe('Most bytes of values in one micro-batch.'),
  maxWaitMs: z
    .number()
    .int()
    .min(0)
    .default(1000)
    .describe('Longest wait for more records before a partial batch is written.'),
});

const eventsSchema = z.strictObject({
  dataset: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/)
    .describe('Name of the event dataset in every layer (bronze.<dataset>, silver.<dataset>…).'),
  contract: z.string().describe('Path of the data contract, relative to the project folder.'),
  kafka: kafkaSchema,
  batch: batchSchema.prefault({}),
  allowedLatenessMinutes: z
    .number()
    .int()
    .min(0)
    .default(60)
    .describe('Events older than the newest event time seen (per source partition) minus this are flagged is_late.'),
});

const referenceSchema = z.strictObject({
  dataset: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/)
    .describe('Name of the reference dataset (bronze.<dataset>, silver.<dataset>).'),
  file: z.string().describe('CSV file, relative to the project folder.'),
  description: z.string().optional().describe('What the file holds.'),
});

const faultsSchema = z.strictObject({
  duplicate: z.number().min(0).max(0.5).describe('Share of events re-sent as exact duplicates.'),
  late: z.number().min(0).max(0.5).describe('Share of events delivered later than the allowed lateness.'),
  outOfOrder: z
    .number()
    .min(0)
    .max(0.5)
    .describe('Share of events swapped with a neighbour (within the allowed lateness).'),
  malformed: z.number().min(0).max(0.5).describe('Share of extra lines that are not valid JSON.'),
  invalid: z.number().min(0).max(0.5).describe('Share of extra records with wrong types or values.'),
  unknownSchool: z
    .number()
    .min(0)
    .max(0.5)
    .describe('Share of extra records for a well-formed DBN that is not a known school.'),
});

const simulateSchema = z.strictObject({
  seed: z.number().int().default(2018).describe('Default random seed (override with --seed).'),
  startDate: z.iso.date().describe('First school day simulated (YYYY-MM-DD); weekends and holidays are skipped.'),
  enrollmentYear: z
    .string()
    .regex(/^\d{4}-\d{2}$/)
    .describe('School year of the demographic snapshot used for enrollment (e.g. 2017-18).'),
  attendanceYear: z
    .string()
    .regex(/^\d{4}-\d{2}$/)
    .describe('School year of the official attendance used for calibration (e.g. 2018-19).'),
  holidays: z.array(z.iso.date()).default([]).describe('Dates with no school.'),
  faults: faultsSchema.describe('Fault rates of `--faults default`.'),
});

const privacySchema = z.strictObject({
  pseudonymKeyEnv: z
    .string()
    .default('MEDALLION_PSEUDONYM_KEY')
    .describe('Environment variable holding the HMAC key for student ids.'),
  minGroupSize: z.number().int().min(1).default(10).describe('Counts under this many students are published as `s`.'),
});

const goldSchema = z.strictObject({
  project: z
    .string()
    .default('gold')
    .describe('Folder of the dbt-format gold project, relative to the project folder.'),
});

const serveSchema = z.strictObject({
  host: z.string().default('127.0.0.1').describe('Address the dashboard binds to.'),
  port: z.number().int().min(0).max(65535).default(8787).describe('Port of the dashboard.'),
});

const runSchema = z.strictObject({
  triggerIntervalMs: z
    .number()
    .int()
    .min(100)
    .default(5000)
    .describe(
      'Trigger interval of `medallion run` (continuous mode): a micro-batch starts at most this often; when a cycle takes longer, the next starts as soon as it ends.',
    ),
  fullBuildIntervalMs: z
    .number()
    .int()
    .min(0)
    .default(300_000)
    .describe(
      'Continuous mode: how often a cycle runs the whole gold build (every model, snapshot and test). Cycles in between build only the models downstream of the silver datasets they changed, with merged results. 0: every cycle runs the whole build.',
    ),
  idleCheckIntervalMs: z
    .number()
    .int()
    .min(1000)
    .default(60_000)
    .describe(
      'Continuous mode: while no new events arrive, the data-quality checks still run this often (so freshness fails when the stream stops).',
    ),
});

const lineageSchema = z.strictObject({
  enabled: z
    .boolean()
    .default(true)
    .describe('Emit OpenLineage run events for every job run, gold model and gold test.'),
  transport: z
    .enum(['file', 'http'])
    .default('file')
    .describe(
      '`file`: JSON lines under the data directory (lineage/events.jsonl); `http`: POST each event to `url` (Marquez).',
    ),
  url: z
    .url()
    .optional()
    .describe(
      'Base URL of the lineage API for the `http` transport (events go to {url}/api/v1/lineage, e.g. http://127.0.0.1:5000).',
    ),
  apiKeyEnv: z
    .string()
    .optional()
    .describe('Environment variable holding a bearer token sent with `http` events (never written in the config).'),
  timeoutMs: z
    .number()
    .int()
    .min(100)
    .default(5000)
    .describe('Timeout of one `http` POST; a failed POST is logged, never fails the job.'),
  namespace: z
    .string()
    .min(1)
    .optional()
    .describe("Namespace of Medallion's jobs in lineage events (default: the pipeline name)."),
  columnMetrics: z
    .boolean()
    .default(true)
    .describe(
      'Add null counts per column of the warehouse tables `load` writes (one aggregate per table) to their dataQualityMetrics facets.',
    ),
  columnLineage: z
    .enum(['sources', 'direct'])
    .default('sources')
    .describe(
      "Column lineage of gold models: `sources` follows columns through staging views and upstream models to the warehouse's silver and reference tables; `direct` names only the relations the model reads.",
    ),
});

export const pipelineConfigSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9-]*$/)
    .describe('Pipeline name.'),
  description: z.string().optional().describe('What the pipeline is for.'),
  events: eventsSchema,
  reference: z.array(referenceSchema).default([]).describe('Reference CSV files ingested to bronze as received.'),
  simulate: simulateSchema,
  privacy: privacySchema.prefault({}),
  gold: goldSchema.prefault({}),
  serve: serveSchema.prefault({}),
  run: runSchema.prefault({}),
  lineage: lineageSchema.prefault({}),
});

export type PipelineConfig = z.infer<typeof pipelineConfigSchema>;
export type ReferenceDatasetConfig = z.infer<typeof referenceSchema>;
export type FaultRates = z.infer<typeof faultsSchema>;
export type LineageConfig = z.infer<typeof lineageSchema>;
