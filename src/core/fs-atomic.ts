import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** A temporary sibling name for `path` that readers ignore (suffix `.tmp`). */
export function tempNameFor(path: string): string {
  return `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

/** Flushes a file to disk. */
export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Flushes a directory entry table to disk so that a rename in it is durable. */
export async function fsyncDir(path: string): Promise<void> {
  try {
    const fh = await open(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic there.
  }
}

/**
 * Publishes a file that `produce` writes at a temporary path: flushed, then renamed atomically
 * into place, so readers see either no file or the whole file.
 */
export async function writeAtomic(path: string, produce: (tmpPath: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempNameFor(path);
  try {
    await produce(tmp);
    await fsyncFile(tmp);
    await rename(tmp, path);
    await fsyncDir(dirname(path));
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Writes text atomically. */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
  await writeAtomic(path, async (tmp) => {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(text);
    } finally {
      await fh.close();
    }
  });
}

/**
 * Replaces a file that is rewritten on every run (a by-product such as dbt's artifacts): written
 * to a temporary name and renamed into place, so readers see the old file or the new one, never
 * half of one; not flushed to disk (after a crash the next run writes it again).
 */
export async function replaceText(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempNameFor(path);
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
