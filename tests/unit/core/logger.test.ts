import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../../src/config/project.ts';

/** Runs a script against the logger in a fresh process (the logger reads its environment once). */
function stderrOf(script: string, env: Record<string, string>): string {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    env: { ...process.env, MEDALLION_QUIET: '0', ...env },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr;
}

const LOGGER = JSON.stringify(join(REPO_ROOT, 'src', 'core', 'logger.ts'));

test('log lines are JSON with an event code; ids and secrets are redacted wherever they appear', () => {
  const key = 'k3y-0f-th3-pseudonyms-9f8e7d';
  const token = 'dashboard-token-5a4b3c2d1e';
  const out = stderrOf(
    `import { logger, progress, registerSecret } from ${LOGGER};
     registerSecret(${JSON.stringify(token)});
     const log = logger.child({ component: 'test' });
     log.info({ event: 'ingest.batch.committed', records: 3 }, 'batch committed');
     log.info({ student_id: '204512345', row: { student_id: '204512346' } }, 'a row');
     log.warn({ sql: "SELECT hmac(${key.replaceAll("'", '')}, id)" }, 'the key inside a string: ${key}');
     log.error({ headers: { authorization: 'Bearer ${token}' }, token: '${token}' }, 'auth with ${token}');
     progress('progress line with ${token}');`,
    { MEDALLION_PSEUDONYM_KEY: key, MEDALLION_LOG_LEVEL: 'debug' },
  );
  const lines = out.trim().split('\n');
  assert.equal(lines.length, 5, out);
  const json = lines.slice(0, 4).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    json.map((j) => [j['component'], j['event'] ?? null]),
    [
      ['test', 'ingest.batch.committed'],
      ['test', null],
      ['test', null],
      ['test', null],
    ],
  );
  assert.equal(json[1]!['student_id'], '[redacted]');
  assert.deepEqual(json[1]!['row'], { student_id: '[redacted]' });
  assert.equal(out.includes('20451234'), false);
  assert.equal(out.includes(key), false, 'the key from MEDALLION_PSEUDONYM_KEY is scrubbed');
  assert.equal(out.includes(token), false, 'a registered token is scrubbed');
  assert.equal((out.match(/\[redacted\]/g) ?? []).length, 8, out);
  assert.equal(lines[4], 'progress line with [redacted]');
});
