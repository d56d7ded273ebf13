import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';
import { loadProject } from '../../../src/config/project.ts';
import { LandingSink, simulate, simulateToLanding } from '../../../src/simulate/index.ts';
import { MemorySink } from './stream-audit.ts';

const home = mkdtempSync(join(tmpdir(), 'medallion-sim-'));
after(() => rmSync(home, { recursive: true, force: true }));
const project = loadProject({ dataDir: home });
const dir = join(project.paths.landing, project.config.events.dataset);

test('landing files hold at most 100,000 lines each, are named by run, and equal the records sent', async () => {
  const now = new Date('2026-01-02T03:04:05.678Z');
  const { truth, files } = await simulateToLanding(project, { events: 250_000, seed: 5 }, { now });
  assert.equal(truth.records, 250_000);
  assert.deepEqual(
    files.map((f) => basename(f)),
    [0, 1, 2].map((i) => `events-20260102T030405678Z-s5-0000${i}.jsonl`),
  );
  assert.deepEqual(readdirSync(dir).sort(), files.map((f) => basename(f)).sort(), 'no temporary file is left');
  const texts = files.map((f) => readFileSync(f, 'utf8'));
  assert.deepEqual(
    texts.map((t) => t.split('\n').length - 1),
    [100_000, 100_000, 50_000],
  );
  for (const t of texts) assert.ok(t.endsWith('\n') && !t.includes('\n\n') && !t.includes('\r'));
  const memory = new MemorySink();
  await simulate(project, { events: 250_000, seed: 5 }, memory);
  assert.equal(texts.join(''), memory.records.map((r) => `${r.value}\n`).join(''), 'byte path equals record path');
});

test('the record path of LandingSink writes the same files as the byte path', async () => {
  const memory = new MemorySink();
  await simulate(project, { events: 3_000, seed: 9 }, memory);
  const sink = new LandingSink(project, { seed: 9, now: new Date('2026-01-01T00:00:00Z'), maxLinesPerFile: 1_000 });
  for (let i = 0; i < memory.records.length; i += 700) await sink.write(memory.records.slice(i, i + 700));
  await sink.close();
  assert.equal(sink.files.length, 3);
  const text = sink.files.map((f) => readFileSync(f, 'utf8')).join('');
  assert.equal(text, memory.records.map((r) => `${r.value}\n`).join(''));
  await assert.rejects(sink.write(memory.records.slice(0, 1)), /after close/);
});
