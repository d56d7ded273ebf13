import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { runDbt } from '../../../src/build/dbt/index.ts';
import { FLAGSHIP_PROJECT_DIR } from '../../../src/config/project.ts';
import { validateArtifact } from './artifact-schemas.ts';
import { FEATURE_LAB, loadFeatureLabInput } from './feature-lab.ts';
import { SCHOOL_GOLD, tempDir, tempWarehouse } from './helpers.ts';

async function readJson(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, 'utf8'));
}

test("manifest.json and run_results.json validate against dbt's published schemas (manifest v12, run-results v6)", async (t) => {
  const { warehouse } = await tempWarehouse(t);
  await loadFeatureLabInput(warehouse, 1);
  const target = join(await tempDir(t), 'target');
  const r = await runDbt({
    command: 'build',
    projectDir: FEATURE_LAB,
    targetPath: target,
    warehouse,
    onEvent: () => {},
  });
  assert.ok(r.results.length > 20);
  const manifest = (await readJson(join(target, 'manifest.json'))) as { nodes: Record<string, unknown> };
  assert.deepEqual(await validateArtifact('manifest-v12.json', manifest), []);
  assert.deepEqual(await validateArtifact('run-results-v6.json', await readJson(join(target, 'run_results.json'))), []);
  const types = new Set(Object.values(manifest.nodes).map((n) => (n as { resource_type: string }).resource_type));
  assert.deepEqual([...types].sort(), ['model', 'seed', 'snapshot', 'test']);

  for (const [projectDir, command] of [
    [join(FLAGSHIP_PROJECT_DIR, 'gold'), 'parse'],
    [SCHOOL_GOLD, 'compile'],
  ] as const) {
    const out = join(await tempDir(t), 'target');
    await runDbt({ command, projectDir, targetPath: out, onEvent: () => {} });
    assert.deepEqual(
      await validateArtifact('manifest-v12.json', await readJson(join(out, 'manifest.json'))),
      [],
      projectDir,
    );
  }
});
