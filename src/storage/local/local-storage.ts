import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { writeAtomic, writeTextAtomic } from '../../core/fs-atomic.ts';
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
          out.push({ key: relative(this.root, p).split(sep).join('/'), size: s.size });
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

  async delete(key: string): Promise<void> {
    await rm(this.uri(key), { force: true, recursive: true });
  }

  /** Makes sure the root exists. */
  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }
}
