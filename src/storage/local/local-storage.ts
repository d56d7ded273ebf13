import { link, mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fsyncDir, tempNameFor, writeAtomic, writeTextAtomic } from '../../core/fs-atomic.ts';
import type { Storage, StoredFile } from '../storage.ts';

/** Lake storage in a local directory. */
export class LocalStorage implements Storage {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  uri(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  async list(prefix: string): Promise<StoredFile[]> {
    const out: StoredFile[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile() && !e.name.endsWith('.tmp')) {
          const s = await stat(p);
          out.push({ key: relative(this.root, p).split(sep).join('/'), size: s.size, modifiedMs: s.mtimeMs });
        }
      }
    };
    await walk(this.uri(prefix));
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async exists(key: string): Promise<boolean> {
    try {
      await stat(this.uri(key));
      return true;
    } catch {
      return false;
    }
  }

  async putAtomic(key: string, produce: (tmpUri: string) => Promise<void>): Promise<void> {
    await writeAtomic(this.uri(key), produce);
  }

  async readText(key: string): Promise<string | undefined> {
    try {
      return await readFile(this.uri(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async writeTextAtomic(key: string, text: string): Promise<void> {
    await writeTextAtomic(this.uri(key), text);
  }

  /**
   * Writes `text` to a temporary file, flushes it, then hard-links it to `key`: link(2) fails with
   * EEXIST when the name is taken, atomically, so one racing writer wins and the file appears whole.
   */
  async putIfAbsent(key: string, text: string): Promise<boolean> {
    const path = this.uri(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = tempNameFor(path);
    try {
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      try {
        await link(tmp, path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw err;
      }
      await fsyncDir(dirname(path));
      return true;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.uri(key), { force: true, recursive: true });
  }

  /** Makes sure the root exists. */
  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }
}
