import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../src/config/project.ts';
import { type CliResult, medallion } from '../helpers/cli.ts';
import { tempProject } from '../helpers/temp-project.ts';

/** The HMAC pads of a key (RFC 2104): anyone holding one of them holds the key. */
function pads(key: string): string[] {
  const block = Buffer.alloc(64);
  Buffer.from(key, 'utf8').copy(block);
  return [0x36, 0x5c].map((x) => Buffer.from(block.map((b) => b ^ x)).toString('hex'));
}

/** Every student id the simulator wrote to the landing directory (also from lines that do not parse). */
async function studentIds(landing: string): Promise<Set<string>> {
  const ids = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) await walk(path);
      else if (e.name.endsWith('.jsonl')) {
        for (const m of (await readFile(path, 'utf8')).matchAll(/"student_id"\s*:\s*"?([^",}\s]+)/g)) ids.add(m[1]!);
      }
    }
  };
  await walk(landing);
  return ids;
}

function assertClean(output: string, what: string, ids: ReadonlySet<string>, secrets: readonly string[]): void {
  for (const s of secrets) assert.equal(output.includes(s), false, `${what}: a secret appears in the log output`);
  for (const id of ids) {
    const at = output.search(new RegExp(`(?<![0-9A-Za-z])${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![0-9A-Za-z])`));
    assert.equal(
      at,
      -1,
      `${what}: student id ${id} appears in clear: …${output.slice(Math.max(0, at - 80), at + 40)}…`,
    );
  }
}

test('with debug logging, no student id in clear and no secret reaches stderr', { timeout: 300_000 }, async () => {
  const p = await tempProject();
  const args = ['--project', p.dir];
  const key = randomBytes(24).toString('hex');
  const token = `tok-${randomBytes(16).toString('hex')}`;
  const env = {
    MEDALLION_HOME: p.home,
    MEDALLION_PSEUDONYM_KEY: key,
    MEDALLION_LOG_LEVEL: 'debug',
    MEDALLION_QUIET: '0',
  };
  const secrets = [key, ...pads(key), token];
  try {
    const outputs: [string, CliResult][] = [];
    const sim = await medallion(['simulate', ...args, '--events', '4000', '--seed', '11', '--json'], env);
    assert.equal(sim.code, 0, sim.stderr);
    outputs.push(['simulate', sim]);
    const run = await medallion(['run', ...args, '--once', '--metrics-port', '0'], env);
    assert.equal(run.code, 0, run.stderr);
    outputs.push(['run --once', run]);
    for (const cmd of [['status'], ['quarantine'], ['replay', '--from', '2018-10-01', '--to', '2018-10-01']]) {
      const r = await medallion([...cmd, ...args], env);
      outputs.push([cmd.join(' '), r]);
    }

    // The dashboard with a token: right and wrong tokens, as header, query parameter and cookie.
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, 'bin', 'medallion.js'), 'serve', ...args, '--port', '0', '--token', token],
      {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let serveErr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      serveErr += d;
    });
    try {
      for (let i = 0; i < 120 && !/dashboard at (\S+)/.test(stdout); i++) await new Promise((r) => setTimeout(r, 250));
      const base = /dashboard at (\S+)/.exec(stdout)?.[1];
      assert.ok(base, `serve did not start: ${serveErr}`);
      const auth = { authorization: `Bearer ${token}` };
      assert.equal((await fetch(`${base}api/now`, { headers: auth })).status, 200);
      assert.equal((await fetch(`${base}metrics`, { headers: auth })).status, 200);
      assert.equal((await fetch(`${base}api/now`, { headers: { authorization: `Bearer ${token}x` } })).status, 401);
      assert.equal((await fetch(`${base}?token=${token}`, { redirect: 'manual' })).status, 303);
      assert.equal((await fetch(`${base}?token=${token}x`, { redirect: 'manual' })).status, 401);
      assert.equal((await fetch(`${base}api/nothing`, { headers: auth })).status, 404);
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => child.on('close', r));
    }

    const ids = await studentIds(join(p.home, 'landing'));
    assert.ok(ids.size > 1000, `the simulation wrote ${ids.size} student ids`);
    const all = [...outputs.map(([, r]) => r.stderr), serveErr].join('\n');
    // The run logged at debug level: its job events and the SQL it ran are in the output checked.
    assert.match(run.stderr, /"event":"refine\.completed"/);
    assert.match(run.stderr, /"level":20,.*"component":"sql"/);
    for (const [what, r] of outputs) assertClean(r.stderr, what, ids, secrets);
    assertClean(serveErr, 'serve', ids, secrets);
    assert.ok(all.length > 10_000, `${all.length} characters of log output checked`);
  } finally {
    await p.cleanup();
  }
});
