import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../../src/config/project.ts';
import { LOG_EVENTS } from '../../../src/core/logger.ts';

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(p)));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

// Alerting and log queries match on `event` codes, so every code a log line uses is a documented one.
test('every event code a log line in src/ uses is listed in LOG_EVENTS', async () => {
  const documented = Object.keys(LOG_EVENTS).map(
    (k) => new RegExp(`^${k.replaceAll('.', '\\.').replace('<job>', '[a-z.-]+')}$`),
  );
  const used = new Map<string, string>();
  for (const file of await sources(join(REPO_ROOT, 'src'))) {
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(
      /\b(?:log|logger)\.(?:trace|debug|info|warn|error|fatal)\(\s*\{\s*event: '([a-z_.-]+)'/g,
    ))
      used.set(m[1]!, file);
  }
  assert.ok(used.size >= 15, `found ${used.size} event codes`);
  const missing = [...used].filter(([code]) => !documented.some((re) => re.test(code)));
  assert.deepEqual(missing, []);
});
