import { quoteLiteral, type SqlSession } from '../../engine/duckdb.ts';
import type { Storage } from '../../storage/storage.ts';
import { checkpointKey, type DeltaAction, lastCheckpointKey, type TableState } from './delta-log.ts';

/*
 * Delta protocol, "Checkpoints" and "Checkpoint Schema": a checkpoint `n.checkpoint.parquet` holds
 * the reconciled state at version n — one row per action (protocol, metaData, every txn, every live
 * add, and the remove tombstones not yet expired), each row with exactly one of the struct columns
 * `txn`, `add`, `remove`, `metaData`, `protocol` set and the others null. commitInfo is not kept.
 * Readers start from the newest checkpoint not newer than the version they want and replay the JSON
 * entries after it. "Last Checkpoint File": `_delta_log/_last_checkpoint` is JSON
 * `{"version":n,"size":<number of actions>}` pointing at the newest checkpoint, so readers need not
 * search for it. Medallion writes a checkpoint every 10 commits, as the reference implementation does.
 */

/** How often (in versions) Medallion writes a checkpoint. */
export const CHECKPOINT_INTERVAL = 10;

const STRUCTURE = JSON.stringify([
  {
    txn: { appId: 'VARCHAR', version: 'BIGINT', lastUpdated: 'BIGINT' },
    add: {
      path: 'VARCHAR',
      partitionValues: 'MAP(VARCHAR, VARCHAR)',
      size: 'BIGINT',
      modificationTime: 'BIGINT',
      dataChange: 'BOOLEAN',
      stats: 'VARCHAR',
      tags: 'MAP(VARCHAR, VARCHAR)',
    },
    remove: {
      path: 'VARCHAR',
      deletionTimestamp: 'BIGINT',
      dataChange: 'BOOLEAN',
      extendedFileMetadata: 'BOOLEAN',
      partitionValues: 'MAP(VARCHAR, VARCHAR)',
      size: 'BIGINT',
    },
    metaData: {
      id: 'VARCHAR',
      name: 'VARCHAR',
      description: 'VARCHAR',
      format: { provider: 'VARCHAR', options: 'MAP(VARCHAR, VARCHAR)' },
      schemaString: 'VARCHAR',
      partitionColumns: ['VARCHAR'],
      configuration: 'MAP(VARCHAR, VARCHAR)',
      createdTime: 'BIGINT',
    },
    protocol: { minReaderVersion: 'INTEGER', minWriterVersion: 'INTEGER' },
  },
]);

/** How long remove tombstones stay in checkpoints (the protocol's default deletedFileRetentionDuration, 7 days). */
export const TOMBSTONE_RETENTION_MS = 7 * 24 * 3_600_000;

/**
 * The actions a checkpoint of `state` holds. Tombstones older than `TOMBSTONE_RETENTION_MS` are
 * expired (vacuum then treats their files as orphans, aged by modification time).
 */
export function checkpointActions(state: TableState, now = Date.now()): DeltaAction[] {
  const out: DeltaAction[] = [];
  if (state.protocol) {
    out.push({
      protocol: {
        minReaderVersion: state.protocol.minReaderVersion,
        minWriterVersion: state.protocol.minWriterVersion,
      },
    });
  }
  if (state.metadata) out.push({ metaData: state.metadata });
  for (const txn of state.txns.values()) out.push({ txn });
  for (const add of state.files.values()) out.push({ add });
  for (const remove of state.tombstones.values()) {
    if (remove.deletionTimestamp >= now - TOMBSTONE_RETENTION_MS) out.push({ remove });
  }
  return out;
}

/** Writes the checkpoint of `state` at `version` and points `_last_checkpoint` at it. */
export async function writeCheckpoint(
  storage: Storage,
  engine: SqlSession,
  tablePath: string,
  version: number,
  state: TableState,
): Promise<void> {
  const actions = checkpointActions(state);
  const json = JSON.stringify(actions);
  await storage.putAtomic(checkpointKey(tablePath, version), async (tmp) => {
    await engine.exec(
      `COPY (
         SELECT r.txn AS txn, r.add AS add, r.remove AS remove, r.metaData AS metaData, r.protocol AS protocol
         FROM (SELECT unnest(from_json(?::JSON, ${quoteLiteral(STRUCTURE)})) AS r)
       ) TO ${quoteLiteral(tmp)} (FORMAT parquet)`,
      [json],
    );
  });
  const previous = await readLastCheckpoint(storage, tablePath);
  if (previous === undefined || previous.version < version) {
    await storage.writeTextAtomic(lastCheckpointKey(tablePath), JSON.stringify({ version, size: actions.length }));
  }
}

/** Reads the actions of the checkpoint at `version`. */
export async function readCheckpoint(
  storage: Storage,
  engine: SqlSession,
  tablePath: string,
  version: number,
): Promise<DeltaAction[]> {
  const rows = await engine.all<{ j: string }>(
    `SELECT to_json(c)::VARCHAR AS j FROM read_parquet(${quoteLiteral(storage.uri(checkpointKey(tablePath, version)))}) c`,
  );
  const out: DeltaAction[] = [];
  for (const { j } of rows) {
    const row = JSON.parse(j) as Record<string, unknown>;
    for (const kind of ['protocol', 'metaData', 'txn', 'add', 'remove'] as const) {
      const v = row[kind] as Record<string, unknown> | null | undefined;
      if (v && typeof v === 'object' && Object.values(v).some((x) => x !== null)) {
        out.push({ [kind]: v } as unknown as DeltaAction);
      }
    }
  }
  return out;
}

/** The `_last_checkpoint` pointer, if any. */
export async function readLastCheckpoint(
  storage: Storage,
  tablePath: string,
): Promise<{ version: number; size?: number } | undefined> {
  const text = await storage.readText(lastCheckpointKey(tablePath));
  if (!text) return undefined;
  try {
    const parsed = JSON.parse(text) as { version?: unknown; size?: unknown };
    return typeof parsed.version === 'number' ? { version: parsed.version } : undefined;
  } catch {
    return undefined;
  }
}
