#!/usr/bin/env node
// Installs the project's npm dependencies (including the pinned Node 24 binary) when they are
// missing or older than package-lock.json. Runs on any Node >= 18, so `npm start` and `npm test`
// work from a fresh clone on a machine whose system Node is older than the one Medallion targets.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lock = join(root, 'package-lock.json');
const stamp = join(root, 'node_modules', '.medallion-install-stamp');

const want = createHash('sha256')
  .update(readFileSync(join(root, 'package.json')))
  .update(existsSync(lock) ? readFileSync(lock) : '')
  .digest('hex');
const have = existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : '';
const nodeBin = join(root, 'node_modules', 'node', 'bin', 'node');

if (have !== want || !existsSync(nodeBin)) {
  process.stderr.write('medallion: installing npm dependencies (first run or package-lock.json changed)…\n');
  // `npm install` (not `npm ci`): it honours the lock file, and npm ci rejects lock files written
  // without other platforms' optional packages, which this registry setup produces.
  const args = ['install', '--no-audit', '--no-fund'];
  const r = spawnSync('npm', args, { cwd: root, stdio: ['ignore', process.stderr, 'inherit'] });
  if (r.status !== 0) {
    process.stderr.write(
      'medallion: MDL_INSTALL_FAILED: `npm ' +
        args.join(' ') +
        '` failed; check the npm registry is reachable and retry.\n',
    );
    process.exit(r.status ?? 1);
  }
  writeFileSync(stamp, want + '\n');
}
