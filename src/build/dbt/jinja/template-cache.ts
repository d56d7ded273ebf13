import { createHash, hash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

/** A compiled template's code: a function returning nunjucks' template properties (`root`, blocks). */
export type TemplateFactory = () => object;

/**
 * Templates compiled together: their code is one script (V8 compiles and caches one script far
 * faster than a thousand small ones), with one code cache.
 */
interface Segment {
  readonly keys: readonly string[];
  readonly codes: readonly string[];
  /** V8's code cache for the segment's script. */
  data?: Buffer;
  /** The code cache was made after the templates rendered, so it holds their compiled functions. */
  full: boolean;
  /** Set once the segment's script ran in this process. */
  script?: Script;
  factories?: TemplateFactory[];
  /** The script ran without a usable code cache (none, or one V8 refused). */
  compiledAnew?: boolean;
  /** Keys of this segment that this run used. */
  readonly used: Set<string>;
}

/** At most this many segments are kept; more are merged into one at save. */
const MAX_SEGMENTS = 8;

/**
 * Compiled Jinja templates kept between runs (in the target folder, as dbt keeps its partial-parse
 * file there): the JavaScript nunjucks generates for a template text, and V8's code cache for it,
 * so that a run whose templates did not change skips nunjucks' lexer, parser and code generator and
 * V8's compilation of the generated code.
 *
 * Templates are stored in segments: the templates one run compiled together (see `addMany`) form
 * one script whose code cache is made at the end of that run, after the templates rendered, so it
 * holds their compiled render functions. A later run loads a segment as one script when it first
 * needs one of its templates. At save, segments no template of the run used are dropped, segments
 * mostly unused are rebuilt from the used templates, and a run's new templates become a segment.
 *
 * Entries are keyed by a hash of the template text and its file name; the whole file is keyed by
 * the nunjucks version and the text of Medallion's Jinja layer (whose compiler patches shape the
 * generated code), so a change to either discards it. The code caches sit in a binary file beside
 * it (`.bin`), which starts with an id the JSON file names: a pair that does not match (a write cut
 * short between the two) drops the code caches, never pairs code with another's cache; V8 itself
 * refuses a code cache made for other code. Each file is written to a temporary name and renamed
 * into place; an unreadable or foreign file is ignored.
 */
export class TemplateCache {
  readonly #path: string;
  readonly #segments: Segment[] = [];
  readonly #where = new Map<string, { segment: Segment; index: number }>();
  /** Templates compiled one by one in this run (`set`): a segment of their own at save. */
  readonly #loose = new Map<string, string>();

  private constructor(path: string) {
    this.#path = path;
  }

  /** Opens the cache at `path` (missing or stale: empty). */
  static async open(path: string): Promise<TemplateCache> {
    const cache = new TemplateCache(path);
    try {
      const stored = JSON.parse(await readFile(path, 'utf8')) as {
        fingerprint?: unknown;
        bin?: unknown;
        segments?: { keys?: unknown; codes?: unknown; at?: unknown; full?: unknown }[];
      };
      if (stored.fingerprint !== fingerprint() || !Array.isArray(stored.segments)) return cache;
      let bin: Buffer | undefined;
      try {
        bin = await readFile(binPath(path));
        if (typeof stored.bin !== 'string' || bin.subarray(0, ID_BYTES).toString('latin1') !== stored.bin)
          bin = undefined;
      } catch {
        bin = undefined;
      }
      for (const s of stored.segments) {
        const { keys, codes } = s;
        if (!isStrings(keys) || !isStrings(codes) || keys.length !== codes.length || keys.length === 0) continue;
        const at = Array.isArray(s.at) && s.at.length === 2 ? (s.at as [number, number]) : undefined;
        const data = bin && at ? bin.subarray(ID_BYTES + at[0], ID_BYTES + at[0] + at[1]) : undefined;
        cache.#addSegment({
          keys,
          codes,
          data: data?.length ? data : undefined,
          full: s.full === true,
          used: new Set(),
        });
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

  /** Whether the template for `key` is stored. */
  has(key: string): boolean {
    return this.#where.has(key) || this.#loose.has(key);
  }

  /** The template stored for `key`, if any; marks it used (its segment's script runs on first use). */
  get(key: string): TemplateFactory | undefined {
    const at = this.#where.get(key);
    if (!at) return undefined;
    const { segment, index } = at;
    if (!segment.factories) {
      const script = new Script(bundle(segment.codes), { filename: SCRIPT_NAME, cachedData: segment.data });
      segment.compiledAnew = segment.data === undefined || script.cachedDataRejected === true;
      segment.script = script;
      segment.factories = script.runInThisContext() as TemplateFactory[];
    }
    segment.used.add(key);
    return segment.factories[index];
  }

  /**
   * Records templates nunjucks compiled together (`code`: what it generated for each) as one
   * script, and returns their factories in order, ready to run.
   */
  addMany(items: readonly { key: string; code: string }[]): TemplateFactory[] {
    const seen = new Set<string>();
    const fresh = items.filter((it) => !this.has(it.key) && !seen.has(it.key) && seen.add(it.key));
    if (fresh.length > 0) {
      const segment: Segment = {
        keys: fresh.map((it) => it.key),
        codes: fresh.map((it) => it.code),
        full: false,
        used: new Set(fresh.map((it) => it.key)),
      };
      this.#addSegment(segment);
      segment.script = new Script(bundle(segment.codes), { filename: SCRIPT_NAME });
      segment.compiledAnew = true;
      segment.factories = segment.script.runInThisContext() as TemplateFactory[];
    }
    return items.map((it) => this.get(it.key) ?? this.#looseFactory(it.key));
  }

  /** Records the code nunjucks generated for one template and returns it, ready to run. */
  set(key: string, code: string): TemplateFactory {
    this.#loose.set(key, code);
    return this.#looseFactory(key);
  }

  #looseFactory(key: string): TemplateFactory {
    return new Script(wrap(this.#loose.get(key)!), { filename: SCRIPT_NAME }).runInThisContext() as TemplateFactory;
  }

  #addSegment(segment: Segment): void {
    this.#segments.push(segment);
    segment.keys.forEach((key, index) => {
      this.#where.set(key, { segment, index });
    });
  }

  /**
   * Writes the cache when this run changed what it should hold: new templates, segments unused or
   * mostly unused, or code caches to make (a segment whose script compiled anew, or whose cache
   * was made before its templates rendered). Otherwise writes nothing.
   */
  async save(): Promise<void> {
    let changed = this.#loose.size > 0;
    const kept: { keys: readonly string[]; codes: readonly string[]; data?: Buffer; full: boolean }[] = [];
    const rebuilt = { keys: [] as string[], codes: [] as string[] };
    for (const s of this.#segments) {
      if (s.used.size === 0) {
        changed = true;
        continue;
      }
      if (s.used.size * 2 < s.keys.length) {
        changed = true;
        s.keys.forEach((k, i) => {
          if (s.used.has(k)) {
            rebuilt.keys.push(k);
            rebuilt.codes.push(s.codes[i]!);
          }
        });
        continue;
      }
      if (s.script && (s.compiledAnew || !s.full)) {
        // The script ran and rendered its templates: its code cache now holds their functions.
        changed = true;
        kept.push({ keys: s.keys, codes: s.codes, data: s.script.createCachedData(), full: true });
      } else kept.push({ keys: s.keys, codes: s.codes, data: s.data, full: s.full });
    }
    if (!changed) return;
    for (const [k, code] of this.#loose) {
      rebuilt.keys.push(k);
      rebuilt.codes.push(code);
    }
    const made = (keys: readonly string[], codes: readonly string[]) => ({
      keys,
      codes,
      data: new Script(bundle(codes), { filename: SCRIPT_NAME }).createCachedData(),
      full: false,
    });
    if (rebuilt.keys.length > 0) kept.push(made(rebuilt.keys, rebuilt.codes));
    const segments =
      kept.length > MAX_SEGMENTS
        ? [
            made(
              kept.flatMap((s) => s.keys),
              kept.flatMap((s) => s.codes),
            ),
          ]
        : kept;

    const id = randomBytes(ID_BYTES / 2).toString('hex');
    const parts: Buffer[] = [Buffer.from(id, 'latin1')];
    let offset = 0;
    const stored = segments.map((s) => {
      const at: [number, number] | undefined = s.data?.length ? [offset, s.data.length] : undefined;
      if (at) {
        parts.push(s.data!);
        offset += at[1];
      }
      return { keys: s.keys, codes: s.codes, full: s.full, ...(at ? { at } : {}) };
    });
    await mkdir(dirname(this.#path), { recursive: true });
    const tmp = `.${process.pid}.tmp`;
    await writeFile(binPath(this.#path) + tmp, Buffer.concat(parts));
    await rename(binPath(this.#path) + tmp, binPath(this.#path));
    await writeFile(this.#path + tmp, JSON.stringify({ fingerprint: fingerprint(), bin: id, segments: stored }));
    await rename(this.#path + tmp, this.#path);
  }
}

/** Length of the id that pairs the binary file with the JSON file (hex characters). */
const ID_BYTES = 32;

const SCRIPT_NAME = 'medallion-jinja-templates';

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function binPath(path: string): string {
  return path.replace(/\.json$/, '') + '.bin';
}

function wrap(code: string): string {
  return `(function () {\n${code}\n})`;
}

/** One script for several templates: an array of their factories, in order. */
function bundle(codes: readonly string[]): string {
  return `[${codes.map(wrap).join(',\n')}]`;
}

let cachedFingerprint: string | undefined;

/** nunjucks' version and the text of this folder's modules that shape generated code. */
function fingerprint(): string {
  if (cachedFingerprint === undefined) {
    const require = createRequire(import.meta.url);
    const version = (require('nunjucks/package.json') as { version: string }).version;
    const h = createHash('sha1').update(`nunjucks ${version} segments`);
    for (const f of ['jinja-engine.ts', 'nunjucks-internals.ts'])
      h.update(readFileSync(fileURLToPath(new URL(f, import.meta.url))));
    cachedFingerprint = h.digest('base64url');
  }
  return cachedFingerprint;
}
