import { createHash, hash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

/** A compiled template's code: a function returning nunjucks' template properties (`root`, blocks). */
export type TemplateFactory = () => object;

interface Entry {
  readonly code: string;
  /** V8's code cache for the code, made after the template rendered: no parse or compile. */
  readonly data?: Buffer;
  /** Set while the entry still needs its code cache made, at save. */
  script?: Script;
}

/**
 * Compiled Jinja templates kept between runs (in the target folder, as dbt keeps its partial-parse
 * file there): the JavaScript nunjucks generates for a template text, and V8's code cache for it
 * (made at the end of the run that first rendered it), so that a run whose templates did not
 * change skips nunjucks' lexer, parser and code generator and V8's compilation of the generated
 * code. It caches compilation only: every node is still rendered (parsed and compiled) every run.
 *
 * Entries are keyed by a hash of the template text and its file name; the whole file is keyed by
 * the nunjucks version and the text of Medallion's Jinja layer (whose compiler patches shape the
 * generated code), so a change to either discards it. The code caches sit in a binary file beside
 * it (`.bin`), which starts with an id the JSON file names: a pair that does not match (a write cut
 * short between the two) drops the code caches, never pairs code with another's cache. Each file is
 * written to a temporary name and renamed into place; an unreadable or foreign file is ignored.
 */
export class TemplateCache {
  readonly #path: string;
  readonly #stored = new Map<string, Entry>();
  readonly #used = new Map<string, Entry>();
  #dirty = false;

  private constructor(path: string) {
    this.#path = path;
  }

  /** Opens the cache at `path` (missing or stale: empty). */
  static async open(path: string): Promise<TemplateCache> {
    const cache = new TemplateCache(path);
    try {
      const data = JSON.parse(await readFile(path, 'utf8')) as {
        fingerprint?: unknown;
        bin?: unknown;
        templates?: Record<string, { code?: unknown; at?: unknown }>;
      };
      if (data.fingerprint !== fingerprint() || !data.templates || typeof data.templates !== 'object') return cache;
      let bin: Buffer | undefined;
      try {
        bin = await readFile(binPath(path));
        if (typeof data.bin !== 'string' || bin.subarray(0, ID_BYTES).toString('latin1') !== data.bin) bin = undefined;
      } catch {
        bin = undefined;
      }
      for (const [k, v] of Object.entries(data.templates)) {
        if (typeof v?.code !== 'string') continue;
        const at = Array.isArray(v.at) && v.at.length === 2 ? (v.at as [number, number]) : undefined;
        const code = bin && at ? bin.subarray(ID_BYTES + at[0], ID_BYTES + at[0] + at[1]) : undefined;
        cache.#stored.set(k, { code: v.code, data: code?.length ? code : undefined });
      }
    } catch {
      // No cache yet, or not one of ours: start empty.
    }
    return cache;
  }

  /** The key of a template text compiled for `file`. */
  static key(file: string, source: string): string {
    return hash('sha1', `${file}\u0000${source}`, 'base64url');
  }

  /** The template stored for `key` (compiled for `file`), if any; marks it used. */
  get(key: string, file: string): TemplateFactory | undefined {
    const stored = this.#stored.get(key);
    if (!stored) return undefined;
    const script = new Script(wrap(stored.code), { filename: scriptName(file), cachedData: stored.data });
    // No code cache yet, or one V8 refused (another V8 version): made at save.
    const fresh = stored.data === undefined || script.cachedDataRejected === true;
    this.#used.set(key, fresh ? { code: stored.code, script } : stored);
    if (fresh) this.#dirty = true;
    return script.runInThisContext() as TemplateFactory;
  }

  /** Records the code nunjucks generated for `key` (compiled for `file`) and returns it, ready to run. */
  set(key: string, file: string, code: string): TemplateFactory {
    const script = new Script(wrap(code), { filename: scriptName(file) });
    this.#used.set(key, { code, script });
    this.#dirty = true;
    return script.runInThisContext() as TemplateFactory;
  }

  /**
   * Writes the templates used in this run, when any was compiled anew or lacked its code cache
   * (made now, after rendering, so it holds the compiled render functions); unused ones are dropped.
   */
  async save(): Promise<void> {
    if (!this.#dirty) return;
    this.#dirty = false;
    const id = randomBytes(ID_BYTES / 2).toString('hex');
    const parts: Buffer[] = [Buffer.from(id, 'latin1')];
    let offset = 0;
    const templates: Record<string, { code: string; at?: [number, number] }> = {};
    for (const [key, e] of this.#used) {
      const data = e.script ? e.script.createCachedData() : e.data;
      if (data === undefined || data.length === 0) templates[key] = { code: e.code };
      else {
        templates[key] = { code: e.code, at: [offset, data.length] };
        parts.push(data);
        offset += data.length;
      }
    }
    await mkdir(dirname(this.#path), { recursive: true });
    const tmp = `.${process.pid}.tmp`;
    await writeFile(binPath(this.#path) + tmp, Buffer.concat(parts));
    await rename(binPath(this.#path) + tmp, binPath(this.#path));
    await writeFile(this.#path + tmp, JSON.stringify({ fingerprint: fingerprint(), bin: id, templates }));
    await rename(this.#path + tmp, this.#path);
  }
}

/** Length of the id that pairs the binary file with the JSON file (hex characters). */
const ID_BYTES = 32;

function binPath(path: string): string {
  return path.replace(/\.json$/, '') + '.bin';
}

function wrap(code: string): string {
  return `(function () {\n${code}\n})`;
}

function scriptName(file: string): string {
  return `medallion-jinja:${file}`;
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
