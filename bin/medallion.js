#!/usr/bin/env node
// Entry point of the `medallion` command. Medallion's sources are TypeScript run by Node 24's
// built-in type stripping; when started by an older Node, re-run under the pinned Node 24 binary
// that `npm install` placed in node_modules/node.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(pinned)) {
    process.stderr.write(
      `medallion: MDL_NODE_VERSION: Node ${process.versions.node} is too old and the pinned Node 24 is not installed; run \`npm install\` in ${root} first.\n`,
    );
    process.exit(2);
  }
  const r = spawnSync(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? (r.signal ? 128 : 1));
}
// Node's module compile cache: every start would otherwise type-strip and compile each loaded .ts
// module again (~0.3 s of a command's start-up). Entries are checked against the source's hash, so
// an edited file is recompiled, never served stale; NODE_COMPILE_CACHE (a folder) overrides the
// place and NODE_DISABLE_COMPILE_CACHE=1 turns it off. A cache that cannot be written is skipped.
{
  const { enableCompileCache } = await import('node:module');
  if (typeof enableCompileCache === 'function' && !process.env.NODE_DISABLE_COMPILE_CACHE) {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..');
    enableCompileCache(process.env.NODE_COMPILE_CACHE || join(root, 'node_modules', '.cache', 'medallion-compile'));
  }
}
// `ingest` runs with a V8 heap cap sized from the batch limits (src/ingest/ingest-heap.ts), unless
// NODE_OPTIONS or the command line chose one: the process replaces itself (same pid, so signals and
// exit codes are unchanged) with one started with the flag.
if (process.argv[2] === 'ingest' && typeof process.execve === 'function') {
  const { ingestNodeFlags } = await import('../src/ingest/ingest-heap.ts');
  const flags = ingestNodeFlags(process.argv.slice(3));
  if (flags.length > 0)
    process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)]);
}
await import('../src/cli/main.ts');
