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
await import('../src/cli/main.ts');
