import { MedallionError } from '../../../core/errors.ts';

/**
 * Finds dbt's top-level Jinja blocks in a file — `{% macro %}`, `{% test %}`, `{% snapshot %}`,
 * `{% docs %}`, `{% materialization %}` — the way dbt's block lexer does (dbt-core
 * `clients/_jinja_blocks.py`): tags are recognised outside comments and `{% raw %}`, blocks do not
 * nest, and anything else at top level is ignored. Each block keeps the line its body starts on,
 * so errors inside it point at the file's own lines.
 */
export interface JinjaBlock {
  readonly kind: 'macro' | 'test' | 'snapshot' | 'docs' | 'materialization';
  /** Everything after the block keyword in the opening tag (`name(args)` or `name`). */
  readonly header: string;
  readonly body: string;
  /** 1-based line of the opening tag. */
  readonly line: number;
  /** 1-based line where `body` starts. */
  readonly bodyLine: number;
}

const KINDS = new Set(['macro', 'test', 'snapshot', 'docs', 'materialization']);

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The top-level blocks of `text` (a file's content); `file` names it in errors. */
export function findBlocks(text: string, file: string): JinjaBlock[] {
  const blocks: JinjaBlock[] = [];
  const tag = /\{#[\s\S]*?#\}|\{%-?\s*(\w+)([\s\S]*?)-?%\}/g;
  let open: { kind: JinjaBlock['kind']; header: string; line: number; bodyStart: number } | undefined;
  let inRaw = false;
  for (let m = tag.exec(text); m; m = tag.exec(text)) {
    const word = m[1];
    if (!word) continue;
    if (inRaw) {
      if (word === 'endraw') inRaw = false;
      continue;
    }
    if (word === 'raw') {
      inRaw = true;
      continue;
    }
    if (open) {
      if (word === `end${open.kind}`) {
        blocks.push({
          kind: open.kind,
          header: open.header,
          body: text.slice(open.bodyStart, m.index),
          line: open.line,
          bodyLine: lineAt(text, open.bodyStart),
        });
        open = undefined;
      } else if (KINDS.has(word) && word !== 'macro') {
        throw new MedallionError(
          'MDL_DBT_PROJECT_INVALID',
          `${file}:${lineAt(text, m.index)}: {% ${word} %} inside {% ${open.kind} %} (opened on line ${open.line}).`,
          { hint: `Close the ${open.kind} block with {% end${open.kind} %} first.` },
        );
      }
      continue;
    }
    if (KINDS.has(word)) {
      open = {
        kind: word as JinjaBlock['kind'],
        header: (m[2] ?? '').trim(),
        line: lineAt(text, m.index),
        bodyStart: m.index + m[0].length,
      };
    }
  }
  if (open) {
    throw new MedallionError(
      'MDL_DBT_PROJECT_INVALID',
      `${file}:${open.line}: {% ${open.kind} ${open.header} %} is never closed.`,
      { hint: `Add {% end${open.kind} %} at the end of the block.` },
    );
  }
  return blocks;
}

/** One parameter of a macro: its name and, if any, the Jinja expression of its default. */
export interface MacroParam {
  readonly name: string;
  readonly defaultExpr?: string;
}

/** Splits `text` at top-level commas (outside quotes and brackets). */
export function splitArgs(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      cur += c;
      if (c === '\\') cur += text[++i] ?? '';
      else if (c === quote) quote = '';
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    if (c === ',' && depth === 0) {
      parts.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  if (cur.trim() !== '') parts.push(cur.trim());
  return parts;
}

/** Parses a macro header `name(a, b=1)` into its name and parameters. */
export function parseMacroHeader(header: string, file: string, line: number): { name: string; params: MacroParam[] } {
  const m = /^([A-Za-z_]\w*)\s*(?:\(([\s\S]*)\))?\s*$/.exec(header);
  if (!m) {
    throw new MedallionError('MDL_DBT_PROJECT_INVALID', `${file}:${line}: cannot read the macro header "${header}".`, {
      hint: 'Write it as {% macro name(arg, other=default) %}.',
    });
  }
  const params = splitArgs(m[2] ?? '').map((p) => {
    const eq = p.indexOf('=');
    if (eq < 0) return { name: p.trim() };
    return { name: p.slice(0, eq).trim(), defaultExpr: p.slice(eq + 1).trim() };
  });
  for (const p of params) {
    if (!/^[A-Za-z_]\w*$/.test(p.name)) {
      throw new MedallionError(
        'MDL_DBT_PROJECT_INVALID',
        `${file}:${line}: macro parameter "${p.name}" is not a name.`,
        { hint: 'Parameters are names, optionally with "=default".' },
      );
    }
  }
  return { name: m[1]!, params };
}
