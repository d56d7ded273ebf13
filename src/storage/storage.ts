/**
 * The `Storage` contract: where lake files (bronze, silver, quarantine) live. Local directories
 * now; object stores (S3, GCS) implement the same interface later. Keys are `/`-separated paths
 * relative to the lake root.
 */
export interface StoredFile {
  readonly key: string;
  readonly size: number;
  /** Last modification time in epoch milliseconds, when the store knows it (used to age orphan files). */
  readonly modifiedMs?: number;
}

export interface Storage {
  /** A location the SQL engine can read and write (a local path; an s3:// URL for object stores). */
  uri(key: string): string;
  /** Lists files under a prefix, recursively, ignoring temporary files; sorted by key. */
  list(prefix: string): Promise<StoredFile[]>;
  exists(key: string): Promise<boolean>;
  /**
   * Publishes a file atomically: `produce` writes to the given temporary location, which is then
   * made durable and moved to `key`. Readers see no file or the whole file.
   */
  putAtomic(key: string, produce: (tmpUri: string) => Promise<void>): Promise<void>;
  readText(key: string): Promise<string | undefined>;
  writeTextAtomic(key: string, text: string): Promise<void>;
  /**
   * Creates `key` with `text` only if no file of that name exists yet, atomically: of writers racing
   * on the same key exactly one gets `true`, every other `false`, and readers see no file or the whole
   * file. This is the mutual exclusion the Delta log needs (object stores: a conditional put,
   * `If-None-Match: *`). Never overwrites.
   */
  putIfAbsent(key: string, text: string): Promise<boolean>;
  delete(key: string): Promise<void>;
}
