/**
 * OpenLineage run events (spec 2-0-2, https://openlineage.io/spec/2-0-2/OpenLineage.json): a job run
 * is reported by a START event and one COMPLETE or FAIL event with the same run id. Every facet
 * carries `_producer` (who wrote it) and `_schemaURL` (the versioned JSON Schema it conforms to), as
 * the spec's BaseFacet requires. The versions stamped here are the ones the tests validate against
 * (tests/fixtures/openlineage/).
 */

/** URI that identifies Medallion as the producer of events and facets. */
export const PRODUCER = 'urn:medallion:0.1.0';

const SPEC = 'https://openlineage.io/spec';
/** The `schemaURL` of a run event. */
export const RUN_EVENT_SCHEMA_URL = `${SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent`;

/** `_schemaURL` of each facet Medallion writes (the facet's own versioned schema). */
export const FACET_SCHEMA_URLS = {
  parent: `${SPEC}/facets/1-1-0/ParentRunFacet.json#/$defs/ParentRunFacet`,
  errorMessage: `${SPEC}/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet`,
  jobType: `${SPEC}/facets/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet`,
  sql: `${SPEC}/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet`,
  schema: `${SPEC}/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet`,
  columnLineage: `${SPEC}/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet`,
  dataQualityMetrics: `${SPEC}/facets/1-0-2/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet`,
  dataQualityAssertions: `${SPEC}/facets/1-0-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet`,
  outputStatistics: `${SPEC}/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet`,
} as const;

/** Facet name (as it appears in events) → the key of its schema URL. */
export type FacetKind = keyof typeof FACET_SCHEMA_URLS;

/** Any facet: the spec's BaseFacet fields plus the facet's own. */
export type Facet = { readonly _producer: string; readonly _schemaURL: string } & Readonly<Record<string, unknown>>;

/** Makes a facet of the given kind. */
export function facet(kind: FacetKind, body: Readonly<Record<string, unknown>>): Facet {
  return { _producer: PRODUCER, _schemaURL: FACET_SCHEMA_URLS[kind], ...body };
}

/** A dataset in an event. */
export interface LineageDataset {
  readonly namespace: string;
  readonly name: string;
  readonly facets?: Readonly<Record<string, Facet>>;
  readonly inputFacets?: Readonly<Record<string, Facet>>;
  readonly outputFacets?: Readonly<Record<string, Facet>>;
}

/** An OpenLineage RunEvent. */
export interface RunEvent {
  readonly eventType: 'START' | 'COMPLETE' | 'FAIL';
  readonly eventTime: string;
  readonly producer: string;
  readonly schemaURL: string;
  readonly run: { readonly runId: string; readonly facets?: Readonly<Record<string, Facet>> };
  readonly job: {
    readonly namespace: string;
    readonly name: string;
    readonly facets?: Readonly<Record<string, Facet>>;
  };
  readonly inputs: readonly LineageDataset[];
  readonly outputs: readonly LineageDataset[];
}

/** The parts of a run event that vary. */
export interface RunEventParts {
  readonly eventType: RunEvent['eventType'];
  readonly eventTime: Date | string;
  readonly runId: string;
  readonly job: { readonly namespace: string; readonly name: string };
  readonly parent?: { readonly runId: string; readonly namespace: string; readonly name: string };
  /** `processingType` BATCH or STREAMING, and the job type (JOB, MODEL, TEST…). */
  readonly jobType: { readonly processingType: 'BATCH' | 'STREAMING'; readonly jobType: string };
  readonly sql?: string;
  readonly error?: { readonly message: string; readonly stackTrace?: string };
  readonly inputs?: readonly LineageDataset[];
  readonly outputs?: readonly LineageDataset[];
}

/** Builds a RunEvent with the standard run and job facets. */
export function runEvent(p: RunEventParts): RunEvent {
  const runFacets: Record<string, Facet> = {};
  if (p.parent) {
    runFacets['parent'] = facet('parent', {
      run: { runId: p.parent.runId },
      job: { namespace: p.parent.namespace, name: p.parent.name },
    });
  }
  if (p.error) {
    runFacets['errorMessage'] = facet('errorMessage', {
      message: p.error.message,
      programmingLanguage: 'TypeScript',
      ...(p.error.stackTrace ? { stackTrace: p.error.stackTrace } : {}),
    });
  }
  const jobFacets: Record<string, Facet> = {
    jobType: facet('jobType', {
      processingType: p.jobType.processingType,
      integration: 'MEDALLION',
      jobType: p.jobType.jobType,
    }),
  };
  if (p.sql !== undefined) jobFacets['sql'] = facet('sql', { query: p.sql, dialect: 'duckdb' });
  return {
    eventType: p.eventType,
    eventTime: typeof p.eventTime === 'string' ? p.eventTime : p.eventTime.toISOString(),
    producer: PRODUCER,
    schemaURL: RUN_EVENT_SCHEMA_URL,
    run: { runId: p.runId, ...(Object.keys(runFacets).length > 0 ? { facets: runFacets } : {}) },
    job: { ...p.job, facets: jobFacets },
    inputs: p.inputs ?? [],
    outputs: p.outputs ?? [],
  };
}

/** The schema facet for a list of columns. */
export function schemaFacet(columns: readonly { readonly name: string; readonly type: string }[]): Facet {
  return facet('schema', { fields: columns.map((c) => ({ name: c.name, type: c.type })) });
}

/** The (input) dataQualityMetrics facet: row count and, when known, null counts per column. */
export function qualityMetricsFacet(m: {
  readonly rowCount?: number;
  readonly fileCount?: number;
  readonly nullCounts?: Readonly<Record<string, number>>;
}): Facet {
  const columnMetrics: Record<string, { nullCount: number }> = {};
  for (const [c, n] of Object.entries(m.nullCounts ?? {})) columnMetrics[c] = { nullCount: n };
  return facet('dataQualityMetrics', {
    ...(m.rowCount !== undefined ? { rowCount: m.rowCount } : {}),
    ...(m.fileCount !== undefined ? { fileCount: m.fileCount } : {}),
    columnMetrics,
  });
}

/** One assertion of the dataQualityAssertions facet (a contract rule, a dbt test, a quality check). */
export interface QualityAssertion {
  readonly assertion: string;
  readonly success: boolean;
  readonly column?: string;
}

/** The dataQualityAssertions facet. */
export function qualityAssertionsFacet(assertions: readonly QualityAssertion[]): Facet {
  return facet('dataQualityAssertions', {
    assertions: assertions.map((a) => ({
      assertion: a.assertion,
      success: a.success,
      ...(a.column ? { column: a.column } : {}),
    })),
  });
}

/** The outputStatistics facet. */
export function outputStatisticsFacet(rowCount: number, fileCount?: number): Facet {
  return facet('outputStatistics', { rowCount, ...(fileCount !== undefined ? { fileCount } : {}) });
}
