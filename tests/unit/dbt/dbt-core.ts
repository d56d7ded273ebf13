import { spawn } from 'node:child_process';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/**
 * dbt-core for compatibility tests: MEDALLION_DBT (the `dbt` of the venv `scripts/python-peers.sh`
 * makes; `.ci/run` sets it). Outside CI a missing dbt skips the test, loudly; in CI it fails.
 */
export function dbtOrSkip(t: TestContext): string | undefined {
  const dbt = process.env.MEDALLION_DBT;
  if (dbt) return dbt;
  if (process.env.CI) throw new Error('MEDALLION_DBT is not set in CI: .ci/run must run scripts/python-peers.sh.');
  const msg = 'SKIPPED: no dbt-core (run `eval "$(bash scripts/python-peers.sh)"; export MEDALLION_DBT`)';
  process.stderr.write(`\n*** ${msg} ***\n\n`);
  t.skip(msg);
  return undefined;
}

/** A copy of a project's profiles.yml in `dir` (dbt writes `.user.yml` beside the profiles it reads). */
export async function profilesCopy(projectDir: string, dir: string): Promise<string> {
  const out = join(dir, 'profiles');
  await mkdir(out, { recursive: true });
  await copyFile(join(projectDir, 'profiles.yml'), join(out, 'profiles.yml'));
  return out;
}

/** Runs dbt-core; resolves with its exit code and output (logs and target kept out of the project). */
export function runDbtCore(
  dbt: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(dbt, [...args, '--no-use-colors'], {
      env: { ...process.env, DBT_SEND_ANONYMOUS_USAGE_STATS: 'false', DBT_PARTIAL_PARSE: 'false', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** Test outcomes by test name from a run_results.json (`pass`, `fail`, `warn`, `error`, `skipped`). */
export async function testOutcomes(targetPath: string): Promise<Record<string, string>> {
  const rr = JSON.parse(await readFile(join(targetPath, 'run_results.json'), 'utf8')) as {
    results: { unique_id: string; status: string }[];
  };
  const out: Record<string, string> = {};
  for (const r of rr.results) {
    if (!r.unique_id.startsWith('test.')) continue;
    out[r.unique_id.split('.')[2]!] = r.status;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** Node outcomes by unique id without the test hash (`model.p.x` → `success`). */
export async function nodeOutcomes(targetPath: string): Promise<Record<string, string>> {
  const rr = JSON.parse(await readFile(join(targetPath, 'run_results.json'), 'utf8')) as {
    results: { unique_id: string; status: string }[];
  };
  const out: Record<string, string> = {};
  for (const r of rr.results) out[r.unique_id.split('.').slice(0, 3).join('.')] = r.status;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}
