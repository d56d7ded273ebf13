import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Compiled Jinja templates kept between runs (in the target folder, as dbt keeps its partial-parse
 * file there): the JavaScript nunjucks generates for a template text, so that a run whose
 * templates did not change skips nunjucks' lexer, parser and code generator. It caches
 * compilation only: every node is still rendered (parsed and compiled) on every run.
 *
 * Entries are keyed by a hash of the template text and its file name; the whole file is keyed by
 * the nunjucks version and the text of Medallion's Jinja layer (whose compiler patches shape the
 * generated code), so a change to either discards it. Writes go to a temporary file renamed into
 * place; an unreadable or foreign file is ignored.
 */
export class TemplateCache {
  readonly #path: string;
  readonly #stored = new Map<string, string>();
  readonly #used = new Map<string, string>();
  #dirty = false;

  private constructor(path: string) {
    this.#path = path;
  }

  /** Opens the cache at `path` (missing or stale: empty). */
  static async open(path: string): Promise<TemplateCache> {
    const cache = new TemplateCache(path);
    try {
      const data = JSON.parse(await readFile(path, 'utf8')) as { fingerprint?: unknown; templates?: unknown };
      if (data.fingerprint === fingerprint() && data.templates && typeof data.templates === 'object') {
        for (const [k, v] of Object.entries(data.templates as Record<string, unknown>))
          if (typeof v === 'string') cache.#stored.set(k, v);
      }
    } catch {
      // No cache yet, or not one of ours: start empty.
    }
    return cache;
  }

  /** The key of a template text compiled for `file`. */
  static key(file: string, source: string): string {
    return createHash('sha1').update(file).update('\u0000').update(source).digest('base64url');
  }

  /** The generated code stored for `key`, if any (and marks it used). */
  get(key: string): string | undefined {
    const code = this.#stored.get(key);
    if (code !== undefined) this.#used.set(key, code);
    return code;
  }

  set(key: string, code: string): void {
    this.#used.set(key, code);
    this.#dirty = true;
  }

  /** Writes the templates used in this run, when any was compiled anew (unused ones are dropped). */
  async save(): Promise<void> {
    if (!this.#dirty) return;
    this.#dirty = false;
    const templates = Object.fromEntries(this.#used);
    const tmp = `${this.#path}.${process.pid}.tmp`;
    await mkdir(dirname(this.#path), { recursive: true });
    await writeFile(tmp, JSON.stringify({ fingerprint: fingerprint(), templates }));
    await rename(tmp, this.#path);
  }
}

let cachedFingerprint: string | undefined;

/** nunjucks' version and the text of this folder's modules that shape generated code. */
function fingerprint(): string {
  if (cachedFingerprint === undefined) {
    const require = createRequire(import.meta.url);
    const version = (require('nunjucks/package.json') as { version: string }).version;
    const h = createHash('sha1').update(`nunjucks ${version}`);
    for (const f of ['jinja-engine.ts', 'nunjucks-internals.ts'])
      h.update(readFileSync(fileURLToPath(new URL(f, import.meta.url))));
    cachedFingerprint = h.digest('base64url');
  }
  return cachedFingerprint;
}
