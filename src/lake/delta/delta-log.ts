import { MedallionError } from '../../core/errors.ts';

/*
 * Delta transaction log protocol (delta-io/delta PROTOCOL.md), the parts Medallion implements.
 *
 * "Delta Log Entries": the table's history is a folder `_delta_log/` of files named by version,
 * zero-padded to 20 digits (`00000000000000000003.json`). Each is newline-delimited JSON, one action
 * per line, and is the unit of atomicity: version n is version n-1 with n's actions applied.
 *
 * "Actions": `protocol` (the reader/writer versions a client needs), `metaData` (id, schemaString,
 * partitionColumns, configuration), `add`/`remove` (a data file joins or leaves the table; paths are
 * relative URIs; `dataChange=false` marks rearrangements such as compaction), `txn` (an
 * application's last committed batch version, for idempotent writes) and `commitInfo` (provenance,
 * not part of the table state).
 *
 * "Action Reconciliation": replaying versions in order, the latest protocol and metaData win; for
 * each appId the latest txn wins; for each path the latest add or remove wins, so the table is the
 * set of paths whose latest action is an add, and removes stay behind as tombstones for vacuum.
 */

/** protocol action: the lowest reader and writer protocol versions a client needs. */
export interface ProtocolAction {
  readonly minReaderVersion: number;
  readonly minWriterVersion: number;
  readonly readerFeatures?: readonly string[] | null;
  readonly writerFeatures?: readonly string[] | null;
}

/** metaData action: the table's identity, schema and partitioning. */
export interface MetadataAction {
  readonly id: string;
  readonly name?: string | null;
  readonly description?: string | null;
  readonly format: { readonly provider: string; readonly options: Readonly<Record<string, string>> };
  readonly schemaString: string;
  readonly partitionColumns: readonly string[];
  readonly configuration: Readonly<Record<string, string>>;
  readonly createdTime?: number | null;
}

/** add action: a data file that becomes part of the table. */
export interface AddAction {
  /** Relative to the table folder, URI-encoded (e.g. `event_date=2018-10-01/part-….parquet`). */
  readonly path: string;
  /** Partition column → value as a string (null for a null value). */
  readonly partitionValues: Readonly<Record<string, string | null>>;
  readonly size: number;
  readonly modificationTime: number;
  readonly dataChange: boolean;
  /** JSON text: `{"numRecords":n,"minValues":{…},"maxValues":{…},"nullCount":{…}}`. */
  readonly stats?: string | null;
  readonly tags?: Readonly<Record<string, string>> | null;
}

/** remove action: a data file that leaves the table (its tombstone stays until vacuum). */
export interface RemoveAction {
  readonly path: string;
  readonly deletionTimestamp: number;
  readonly dataChange: boolean;
  readonly extendedFileMetadata?: boolean;
  readonly partitionValues?: Readonly<Record<string, string | null>> | null;
  readonly size?: number | null;
}

/** txn action: the last batch version an application committed to this table. */
export interface TxnAction {
  readonly appId: string;
  readonly version: number;
  readonly lastUpdated?: number | null;
}

/** commitInfo action: who did what (provenance; not part of the table state). */
export interface CommitInfoAction {
  readonly timestamp: number;
  readonly operation: string;
  readonly operationParameters?: Readonly<Record<string, unknown>>;
  readonly operationMetrics?: Readonly<Record<string, unknown>>;
  readonly readVersion?: number;
  readonly isBlindAppend?: boolean;
  readonly engineInfo?: string;
  readonly [key: string]: unknown;
}

/** One line of a log entry: exactly one action. */
export type DeltaAction =
  | { readonly protocol: ProtocolAction }
  | { readonly metaData: MetadataAction }
  | { readonly add: AddAction }
  | { readonly remove: RemoveAction }
  | { readonly txn: TxnAction }
  | { readonly commitInfo: CommitInfoAction };

/** The log folder of a table. */
export function logPrefix(tablePath: string): string {
  return `${tablePath}/_delta_log`;
}

/** `_delta_log/<20-digit version>.json`. */
export function commitKey(tablePath: string, version: number): string {
  return `${logPrefix(tablePath)}/${String(version).padStart(20, '0')}.json`;
}

/** `_delta_log/<20-digit version>.checkpoint.parquet` (single-file checkpoint). */
export function checkpointKey(tablePath: string, version: number): string {
  return `${logPrefix(tablePath)}/${String(version).padStart(20, '0')}.checkpoint.parquet`;
}

/** `_delta_log/_last_checkpoint`. */
export function lastCheckpointKey(tablePath: string): string {
  return `${logPrefix(tablePath)}/_last_checkpoint`;
}

/** What a listing of `_delta_log/` holds: commit versions and single-file checkpoint versions, ascending. */
export interface LogListing {
  readonly commits: readonly number[];
  readonly checkpoints: readonly number[];
}

/** Parses the names of a `_delta_log/` listing (other files, e.g. multi-part checkpoints or `.crc`, are ignored). */
export function parseLogListing(keys: readonly string[]): LogListing {
  const commits: number[] = [];
  const checkpoints: number[] = [];
  for (const key of keys) {
    const name = key.slice(key.lastIndexOf('/') + 1);
    const c = /^(\d{20})\.json$/.exec(name);
    if (c) commits.push(Number(c[1]));
    const k = /^(\d{20})\.checkpoint\.parquet$/.exec(name);
    if (k) checkpoints.push(Number(k[1]));
  }
  commits.sort((a, b) => a - b);
  checkpoints.sort((a, b) => a - b);
  return { commits, checkpoints };
}

/** Serializes actions as a log entry (one JSON object per line). */
export function serializeActions(actions: readonly DeltaAction[]): string {
  return `${actions.map((a) => JSON.stringify(a)).join('\n')}\n`;
}

/** Parses a log entry; an unreadable line is a protocol error naming the version. */
export function parseActions(text: string, version: number): DeltaAction[] {
  const out: DeltaAction[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as DeltaAction);
    } catch (err) {
      throw new MedallionError('MDL_DELTA_PROTOCOL', `Delta log entry ${version} has a line that is not JSON.`, {
        hint: 'The table log is damaged; restore the file from a backup or recreate the table.',
        cause: err,
        details: { version },
      });
    }
  }
  return out;
}

/** The state of a table at one version, after action reconciliation. */
export interface TableState {
  protocol: ProtocolAction | undefined;
  metadata: MetadataAction | undefined;
  readonly files: Map<string, AddAction>;
  readonly tombstones: Map<string, RemoveAction>;
  readonly txns: Map<string, TxnAction>;
}

/** An empty state to replay actions into. */
export function emptyState(): TableState {
  return { protocol: undefined, metadata: undefined, files: new Map(), tombstones: new Map(), txns: new Map() };
}

/** Applies one version's actions to `state` (Action Reconciliation). */
export function applyActions(state: TableState, actions: readonly DeltaAction[]): void {
  for (const a of actions) {
    if ('add' in a && a.add) {
      state.files.set(decodePath(a.add.path), a.add);
      state.tombstones.delete(decodePath(a.add.path));
    } else if ('remove' in a && a.remove) {
      state.files.delete(decodePath(a.remove.path));
      state.tombstones.set(decodePath(a.remove.path), a.remove);
    } else if ('metaData' in a && a.metaData) state.metadata = a.metaData;
    else if ('protocol' in a && a.protocol) state.protocol = a.protocol;
    else if ('txn' in a && a.txn) state.txns.set(a.txn.appId, a.txn);
  }
}

/** A path of the log as a path relative to the table folder (the log holds URI-encoded paths). */
export function decodePath(path: string): string {
  return decodeURIComponent(path);
}

/** A relative file path as the log writes it: each segment URI-encoded, keeping `=` of partition folders. */
export function encodePath(path: string): string {
  return path
    .split('/')
    .map((s) => encodeURIComponent(s).replaceAll('%3D', '='))
    .join('/');
}
