/**
 * The nunjucks members Medallion's Jinja layer patches or extends. nunjucks ships no types for its
 * internals (runtime, compiler, parser, nodes); this file names the few used, so that the casts
 * live in one place. nunjucks is pinned to an exact version in package.json for that reason.
 */
import { createRequire } from 'node:module';
import nunjucks from 'nunjucks';

export interface NunjucksNode {
  readonly lineno: number;
  readonly colno: number;
  [field: string]: unknown;
}

export interface NunjucksRuntime {
  memberLookup: (obj: unknown, val: unknown, ...rest: unknown[]) => unknown;
  suppressValue: (val: unknown, autoescape: boolean) => unknown;
  ensureDefined: (val: unknown, lineno: number, colno: number) => unknown;
  handleError: (error: unknown, lineno: number, colno: number) => unknown;
  Frame: new () => { topLevel: boolean };
  [helper: string]: unknown;
}

export interface NunjucksCompilerProto {
  compile(node: NunjucksNode, frame: unknown): void;
  _emit(code: string): void;
  compileMod(node: NunjucksNode, frame: unknown): void;
  compileConcat(node: NunjucksNode, frame: unknown): void;
  compileGroup(node: NunjucksNode, frame: unknown): void;
  _compileAggregate(node: NunjucksNode, frame: unknown, start: string, end: string): void;
}

export interface NunjucksParser {
  nextToken(): { value: string; lineno: number; colno: number };
  parseExpression(): NunjucksNode;
  advanceAfterBlockEnd(name?: string): void;
  fail(message: string, lineno?: number, colno?: number): never;
}

export interface NunjucksNodes {
  NodeList: new (lineno: number, colno: number) => NunjucksNode & { addChild(n: NunjucksNode): void };
  CallExtension: new (ext: unknown, prop: string, args: NunjucksNode, contentArgs?: unknown[]) => NunjucksNode;
}

interface NunjucksModule {
  runtime: NunjucksRuntime;
  lib: {
    TemplateError: new (message: string, lineno?: number, colno?: number) => Error;
    _prettifyError(path: string, withInternals: boolean, err: unknown): unknown;
  };
  compiler: {
    Compiler: { prototype: NunjucksCompilerProto };
    compile(src: string, asyncFilters: readonly string[], ...rest: unknown[]): string;
  };
  nodes: NunjucksNodes;
  installJinjaCompat(): void;
}

/** A compiled nunjucks template: its blocks and the function that renders it. */
export interface NunjucksCompiledTemplate {
  readonly blocks: Record<string, unknown>;
  readonly path: string;
  rootRenderFunc(
    env: unknown,
    context: unknown,
    frame: unknown,
    runtime: NunjucksRuntime,
    cb: (err: unknown, res?: string) => void,
  ): void;
}

/** The render-time context nunjucks builds around a template's variables (`ctx`). */
export interface NunjucksContext {
  ctx: Record<string, unknown>;
  lookup(name: string): unknown;
  setVariable(name: string, value: unknown): void;
  getVariables(): Record<string, unknown>;
}

/** The nunjucks module with its internals typed. */
export const nunjucksInternals = nunjucks as unknown as NunjucksModule;

/**
 * nunjucks' AST transformer (not exported by its index; the same module instance nunjucks' compiler
 * calls): it rewrites templates for async filters and `{% block %}`'s `super()`.
 */
export const nunjucksTransformer = createRequire(import.meta.url)('nunjucks/src/transformer.js') as {
  transform(ast: unknown, asyncFilters: readonly string[], name?: string): unknown;
};
export { nunjucks };
