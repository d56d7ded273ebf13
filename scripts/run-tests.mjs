#!/usr/bin/env node
// Runs every test (tests/**/*.test.ts) with Node's built-in test runner on the pinned Node 24.
// Extra arguments are passed through: `npm test -- tests/unit` runs a folder, `--test-name-pattern=x` filters.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const paths = args.filter((a) => !a.startsWith('--'));

function collect(p, out) {
  const s = statSync(p);
  if (s.isDirectory()) {
    for (const e of readdirSync(p).sort()) {
      if (e === 'node_modules' || e === 'fixtures' || e === 'artifacts') continue;
      collect(join(p, e), out);
    }
  } else if (p.endsWith('.test.ts')) out.push(relative(root, p));
  return out;
}

const files = (paths.length ? paths : ['tests']).flatMap((p) => collect(join(root, p), []));
if (files.length === 0) {
  process.stderr.write('run-tests: no test files found\n');
  process.exit(1);
}
const major = Number(process.versions.node.split('.')[0]);
const node = major >= 24 ? process.execPath : join(root, 'node_modules', 'node', 'bin', 'node');
// MEDALLION_DBT_VERIFY_STATIC_PARSE: every model the dbt runner parses statically in a test is also
// rendered, and a difference fails the run (src/build/dbt/compile/static-parse.ts).
const r = spawnSync(
  node,
  ['--test', '--test-concurrency=1', '--test-timeout=900000', '--test-reporter=spec', ...flags, ...files],
  {
    cwd: root,
    stdio: 'inherit',
    env: { MEDALLION_QUIET: '1', ...process.env, NODE_ENV: 'test', MEDALLION_DBT_VERIFY_STATIC_PARSE: '1' },
  },
);
process.exit(r.status ?? 1);
