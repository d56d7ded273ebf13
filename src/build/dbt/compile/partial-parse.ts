import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DbtNode, NodeConfig, RefCall } from '../graph/manifest.ts';
import {
  isJsonValue,
  parseYaml,
  recordingLines,
  type YamlFile,
  type YamlSnapshot,
  yamlFromSnapshot,
} from '../project/yaml-file.ts';
import type { DbtRuntime } from './context.ts';

/** Medallion's partial-parse file, in the target folder beside dbt-core's `partial_parse.msgpack`. */
export const PARTIAL_PARSE_FILE = 'medallion_partial_parse.json';

/** What parsing a node learnt by rendering it: the calls a later render must agree with. */
export interface ParsedNode {
  readonly refs: RefCall[];
  readonly sources: [string, string][];
  readonly config: NodeConfig;
}

interface Entry extends ParsedNode {
  /** Hash of the node's own inputs (see `nodeKey`). */
  readonly key: string;
  /** The environment variables the render read, with the values it saw (null: unset). */
  readonly env: Record<string, string | null>;
}

interface YamlEntry extends YamlSnapshot {
  /** Hash of the file's text. */
  readonly hash: string;
}

/**
 * Partial parsing, as dbt-core does it: parsing renders every node once to learn its `ref`s,
 * `source`s and `config()` calls; a repeated run whose inputs did not change takes those from the
 * previous run instead of rendering again. A node is parsed again when its text, file, properties
 * (description, columns, config from property files and `dbt_project.yml`) or test arguments
 * changed, or when an environment variable its render read (`env_var`, also inside macros) has
 * another value now. Everything is parsed again when anything else a parse render can see
 * changed: the project file's settings and vars, `--vars`, the target, any macro, the command,
 * `--full-refresh`, or Medallion's dbt runner itself. Property files (YAML) are kept parsed too,
 * by a hash of their text.
 *
 * Like dbt-core's, it cannot see values that change on every run: a `config()` computed from
 * `run_started_at` or `invocation_id` keeps the value of the run that parsed it. `--no-partial-parse`
 * (or DBT_PARTIAL_PARSE=false) parses everything.
 */
export class PartialParse {
  readonly #path: string;
  readonly #environment: string;
  readonly #stored: Map<string, Entry>;
  readonly #now = new Map<string, Entry>();
  readonly #yamlStored: Map<string, YamlEntry>;
  readonly #yamlNow = new Map<string, YamlEntry>();
  #reparsed = 0;
  #yamlChanged = false;
  /** Node keys computed in this run (a node missed by `lookup` is keyed again by `record`). */
  readonly #keys = new WeakMap<DbtNode, { baseConfig: NodeConfig; key: string }>();

  #key(node: DbtNode, baseConfig: NodeConfig): string {
    const known = this.#keys.get(node);
    if (known && known.baseConfig === baseConfig) return known.key;
    const key = nodeKey(node, baseConfig);
    this.#keys.set(node, { baseConfig, key });
    return key;
  }

  private constructor(
    path: string,
    environment: string,
    stored: Map<string, Entry>,
    yamlStored: Map<string, YamlEntry>,
  ) {
    this.#path = path;
    this.#environment = environment;
    this.#stored = stored;
    this.#yamlStored = yamlStored;
  }

  /** Opens the file at `path` for a run with `runtime`; a missing, foreign or stale file gives an empty store. */
  static async open(path: string, runtime: DbtRuntime): Promise<PartialParse> {
    const environment = environmentKey(runtime);
    const stored = new Map<string, Entry>();
    const yamlStored = new Map<string, YamlEntry>();
    try {
      const data = JSON.parse(readFileSync(path, 'utf8')) as {
        environment?: unknown;
        nodes?: unknown;
        yaml?: { version?: unknown; files?: unknown };
      };
      if (data.environment === environment && data.nodes && typeof data.nodes === 'object') {
        for (const [id, e] of Object.entries(data.nodes as Record<string, Entry>)) {
          if (typeof e?.key === 'string' && Array.isArray(e.refs) && Array.isArray(e.sources)) stored.set(id, e);
        }
      }
      // Parsed YAML depends only on the text (and the parser): kept when the environment changed.
      if (data.yaml?.version === yamlVersion() && data.yaml.files && typeof data.yaml.files === 'object') {
        for (const [file, e] of Object.entries(data.yaml.files as Record<string, YamlEntry>)) {
          if (typeof e?.hash === 'string' && e.lines && typeof e.lines === 'object') yamlStored.set(file, e);
        }
      }
    } catch {
      // No file yet, or not one of ours: parse everything.
    }
    return new PartialParse(path, environment, stored, yamlStored);
  }

  /** What the previous parse learnt of `node`, when its inputs are unchanged; else undefined. */
  lookup(node: DbtNode, baseConfig: NodeConfig): ParsedNode | undefined {
    const e = this.#stored.get(node.uniqueId);
    if (!e || e.key !== this.#key(node, baseConfig)) return undefined;
    for (const [name, value] of Object.entries(e.env)) if ((process.env[name] ?? null) !== value) return undefined;
    this.#now.set(node.uniqueId, e);
    // The stored values themselves (read from the file for this run only): they are written back
    // right after parsing, before anything could change them.
    return e;
  }

  /** Records a node parsed by rendering (`env`: the environment variables it read; undefined: do not keep it). */
  record(
    node: DbtNode,
    baseConfig: NodeConfig,
    parsed: ParsedNode,
    env: Record<string, string | null> | undefined,
  ): void {
    this.#reparsed++;
    if (env === undefined) return;
    // Copies of the lists and config the node keeps (they are written at the end of parsing).
    this.#now.set(node.uniqueId, {
      key: this.#key(node, baseConfig),
      env,
      refs: [...parsed.refs],
      sources: [...parsed.sources],
      config: { ...parsed.config },
    });
  }

  /** Reads and parses a property file (`file`: its path in the project), or takes the parse kept for its text. */
  readYaml(absolutePath: string, file: string): YamlFile {
    const text = readFileSync(absolutePath, 'utf8');
    const hash = createHash('sha1').update(text).digest('base64url');
    const stored = this.#yamlStored.get(file);
    if (stored && stored.hash === hash) {
      this.#yamlNow.set(file, stored);
      return yamlFromSnapshot(text, file, stored, clone(stored.data), () => {
        this.#yamlChanged = true;
      });
    }
    const yaml = parseYaml(text, file);
    // Values JSON cannot hold (.inf, .nan) are not kept: such a file is parsed every run.
    if (!isJsonValue(yaml.data)) return yaml;
    const entry: YamlEntry = { hash, data: clone(yaml.data), lines: {} };
    this.#yamlNow.set(file, entry);
    this.#yamlChanged = true;
    return recordingLines(yaml, entry);
  }

  /** Writes the file when this run parsed anything anew, or parsed fewer nodes or files than it holds. */
  async save(): Promise<void> {
    if (
      this.#reparsed === 0 &&
      !this.#yamlChanged &&
      this.#now.size === this.#stored.size &&
      this.#yamlNow.size === this.#yamlStored.size
    )
      return;
    await mkdir(dirname(this.#path), { recursive: true });
    const tmp = `${this.#path}.${process.pid}.tmp`;
    await writeFile(
      tmp,
      JSON.stringify({
        environment: this.#environment,
        nodes: Object.fromEntries(this.#now),
        yaml: { version: yamlVersion(), files: Object.fromEntries(this.#yamlNow) },
      }),
    );
    await rename(tmp, this.#path);
  }
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** The YAML parser's version and Medallion's runner (which reads what it gives). */
function yamlVersion(): string {
  const version = (createRequire(import.meta.url)('yaml/package.json') as { version: string }).version;
  return `${version} ${runner()}`;
}

function digest(value: unknown): string {
  return createHash('sha1').update(JSON.stringify(value)).digest('base64url');
}

/** A node's own inputs to its parse render. */
function nodeKey(node: DbtNode, baseConfig: NodeConfig): string {
  return digest([
    node.resourceType,
    node.uniqueId,
    node.originalFilePath,
    node.path,
    node.rawCode,
    node.rawCodeLine,
    baseConfig,
    node.testMetadata ?? null,
    node.description,
    node.columns,
  ]);
}

let runnerFingerprint: string | undefined;

/** The text of Medallion's dbt runner (its parsing, Jinja layer and built-in macros). */
function runner(): string {
  if (runnerFingerprint === undefined) {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const h = createHash('sha1');
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts')) h.update(p.slice(root.length)).update(readFileSync(p));
      }
    };
    walk(root);
    runnerFingerprint = h.digest('base64url');
  }
  return runnerFingerprint;
}

/** Everything a parse render can see besides the node itself. */
function environmentKey(runtime: DbtRuntime): string {
  const { yaml: _yaml, ...project } = runtime.project;
  const macros = [...runtime.macros.builtinMacros(), ...runtime.macros.projectMacros()].map((m) => [
    m.uniqueId,
    m.originalFilePath,
    m.body,
    m.params,
  ]);
  return digest([
    runner(),
    project,
    runtime.target,
    runtime.cliVars,
    runtime.command,
    runtime.fullRefresh === true,
    macros,
  ]);
}
