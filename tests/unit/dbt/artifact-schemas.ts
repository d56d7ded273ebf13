import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';

const SCHEMAS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'dbt', 'schemas');

const compiled = new Map<string, ReturnType<Ajv2020['compile']>>();

/** Validates a dbt artifact against dbt's JSON schema; returns the errors (empty when valid). */
export async function validateArtifact(
  schemaFile: 'manifest-v12.json' | 'run-results-v6.json',
  doc: unknown,
): Promise<string[]> {
  let validate = compiled.get(schemaFile);
  if (!validate) {
    const schema = JSON.parse(await readFile(join(SCHEMAS, schemaFile), 'utf8')) as Record<string, unknown>;
    validate = new Ajv2020({ allErrors: true, strict: false, validateFormats: false }).compile(schema);
    compiled.set(schemaFile, validate);
  }
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}
