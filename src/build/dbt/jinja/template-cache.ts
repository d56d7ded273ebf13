import { createHash, hash } from 'node:crypto';
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
  /** V8's code cache for the code (base64), made after the template rendered: no parse or compile. */
  readonly data?: string;
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
 * generated code), so a change to either discards it. Writes go to a temporary file renamed into
 * place; an unreadable or foreign file is ignored.
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
      const data = JSON.parse(await readFile(path, 'utf8')) as { fingerprint?: unknown; templates?: unknown };
      if (data.fingerprint === fingerprint() && data.templates && typeof data.templates === 'object') {
        for (const [k, v] of Object.entries(data.templates as Record<string, Partial<Entry>>)) {
          if (typeof v?.code !== 'string') continue;
          cache.#stored.set(k, { code: v.code, data: typeof v.data === 'string' ? v.data : undefined });
        }
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
    const cachedData = stored.data === undefined ? undefined : Buffer.from(stored.data, 'base64');
    const script = new Script(wrap(stored.code), { filename: scriptName(file), cachedData });
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
    const templates: Record<string, { code: string; data?: string }> = {};
    for (const [key, e] of this.#used) {
      const data = e.script ? e.script.createCachedData().toString('base64') : e.data;
      templates[key] = data === undefined ? { code: e.code } : { code: e.code, data };
    }
    const tmp = `${this.#path}.${process.pid}.tmp`;
    await mkdir(dirname(this.#path), { recursive: true });
    await writeFile(tmp, JSON.stringify({ fingerprint: fingerprint(), templates }));
    await rename(tmp, this.#path);
  }
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
