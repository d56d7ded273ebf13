import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { MedallionError } from '../../../core/errors.ts';

/** A parsed YAML file that can tell the line of any of its values, for error messages. */
export interface YamlFile {
  /** Path relative to the project (as errors show it). */
  readonly file: string;
  readonly data: unknown;
  /** 1-based line of the value at `path` (keys and list indexes), or of its nearest parent. */
  lineOf(path: readonly (string | number)[]): number | undefined;
}

/** Parses YAML text; syntax errors become MDL_DBT_PROJECT_INVALID naming file and line. */
export function parseYaml(text: string, file: string): YamlFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0]?.line;
    throw new MedallionError(
      'MDL_DBT_PROJECT_INVALID',
      `${file}${line ? `:${line}` : ''}: invalid YAML: ${first.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`,
      { hint: 'Fix the YAML syntax at that line (indentation, colons, quotes).', details: { file, line } },
    );
  }
  const data = doc.toJS({ maxAliasCount: 1000 }) as unknown;
  return {
    file,
    data: data ?? {},
    lineOf(path) {
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
        if (node && typeof node === 'object' && node.range) return lineCounter.linePos(node.range[0]).line;
      }
      return undefined;
    },
  };
}

/**
 * What a parse of a YAML text gave, kept between runs (see PartialParse): its value (plain JSON
 * values only) and the lines asked of it so far, by path.
 */
export interface YamlSnapshot {
  readonly data: unknown;
  readonly lines: Record<string, number | null>;
}

/** Whether `value` survives a JSON round trip unchanged (strings, finite numbers, booleans, null, arrays, plain objects). */
export function isJsonValue(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isJsonValue);
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
    return Object.values(value as object).every(isJsonValue);
  return false;
}

/**
 * A YAML file answered from a snapshot of an earlier parse of the same text (`data`: a copy the
 * caller may change). A line the snapshot lacks comes from parsing the text then, and is added to
 * it (`onChange` is told).
 */
export function yamlFromSnapshot(
  text: string,
  file: string,
  snapshot: YamlSnapshot,
  data: unknown,
  onChange: () => void,
): YamlFile {
  let parsed: YamlFile | undefined;
  return {
    file,
    data,
    lineOf(path) {
      const key = JSON.stringify(path);
      if (key in snapshot.lines) return snapshot.lines[key] ?? undefined;
      parsed ??= parseYaml(text, file);
      const line = parsed.lineOf(path);
      snapshot.lines[key] = line ?? null;
      onChange();
      return line;
    },
  };
}

/** `yaml` with the lines asked of it recorded in `snapshot`. */
export function recordingLines(yaml: YamlFile, snapshot: YamlSnapshot): YamlFile {
  return {
    file: yaml.file,
    data: yaml.data,
    lineOf(path) {
      const line = yaml.lineOf(path);
      snapshot.lines[JSON.stringify(path)] = line ?? null;
      return line;
    },
  };
}

/** Reads and parses a YAML file. */
export async function readYamlFile(absolutePath: string, file: string): Promise<YamlFile> {
  return parseYaml(readFileSync(absolutePath, 'utf8'), file);
}

/** An MDL_DBT_PROJECT_INVALID error located in a YAML file. */
export function yamlError(
  yaml: YamlFile,
  path: readonly (string | number)[],
  message: string,
  hint: string,
): MedallionError {
  const line = yaml.lineOf(path);
  return new MedallionError('MDL_DBT_PROJECT_INVALID', `${yaml.file}${line ? `:${line}` : ''}: ${message}`, {
    hint,
    details: { file: yaml.file, line },
  });
}
