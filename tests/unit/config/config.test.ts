import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONFIG_FILE, FLAGSHIP_PROJECT_DIR, loadProject, parseConfig } from '../../../src/config/project.ts';
import type { MedallionError } from '../../../src/core/errors.ts';
import { loadContract } from '../../../src/refine/contract.ts';

const flagshipText = readFileSync(join(FLAGSHIP_PROJECT_DIR, CONFIG_FILE), 'utf8');

test('the flagship config is valid and gets its defaults filled in', () => {
  const c = parseConfig(flagshipText, 'medallion.yml');
  assert.equal(c.events.dataset, 'attendance_events');
  assert.equal(c.reference.length, 4);
  assert.equal(c.privacy.minGroupSize, 10);
  assert.equal(c.serve.host, '127.0.0.1');
});

test('unknown keys are rejected with the file and the key path', () => {
  const text = flagshipText.replace('  partitions: 3', '  partitions: 3\n    partitons: 4');
  assert.throws(
    () => parseConfig(text, 'x/medallion.yml'),
    (e: MedallionError) =>
      e.code === 'MDL_CONFIG_INVALID' && /x\/medallion.yml: events.kafka: unknown key\(s\) "partitons"/.test(e.message),
  );
});

test('wrong types and broken YAML are reported with where they are', () => {
  assert.throws(
    () => parseConfig(flagshipText.replace('allowedLatenessMinutes: 60', 'allowedLatenessMinutes: soon'), 'm.yml'),
    (e: MedallionError) => e.code === 'MDL_CONFIG_INVALID' && /events.allowedLatenessMinutes/.test(e.message),
  );
  assert.throws(
    () => parseConfig('name: x\nevents: [unclosed', 'm.yml'),
    (e: MedallionError) => e.code === 'MDL_CONFIG_INVALID' && /m.yml:\d+ is not valid YAML/.test(e.message),
  );
});

test('a project folder without medallion.yml is MDL_PROJECT_NOT_FOUND; MEDALLION_HOME sets the data directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'medallion-config-'));
  try {
    assert.throws(
      () => loadProject({ projectDir: dir }),
      (e: MedallionError) => e.code === 'MDL_PROJECT_NOT_FOUND',
    );
    const p = loadProject({ dataDir: join(dir, 'data') });
    assert.equal(p.paths.root, join(dir, 'data'));
    assert.equal(p.paths.warehouse, join(dir, 'data', 'warehouse', 'medallion.duckdb'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('contracts are validated: unknown keys, a key field that is not declared', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'medallion-contract-'));
  try {
    const good = loadContract(join(FLAGSHIP_PROJECT_DIR, 'contracts', 'attendance_events.yml'));
    assert.equal(good.key, 'event_id');
    await writeFile(
      join(dir, 'a.yml'),
      'dataset: a\nformat: json\nkey: id\neventTime: t\nfields:\n  - {name: t, type: timestamp}\n',
    );
    assert.throws(
      () => loadContract(join(dir, 'a.yml')),
      (e: MedallionError) => e.code === 'MDL_CONTRACT_INVALID' && /"id" is not one of its fields/.test(e.message),
    );
    await writeFile(
      join(dir, 'b.yml'),
      'dataset: a\nformat: json\nkey: t\neventTime: t\nfields:\n  - {name: t, type: timestamp, requird: true}\n',
    );
    assert.throws(
      () => loadContract(join(dir, 'b.yml')),
      (e: MedallionError) => e.code === 'MDL_CONTRACT_INVALID' && /requird/.test(e.message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
