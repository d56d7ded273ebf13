import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { FLAGSHIP_PROJECT_DIR } from '../../src/config/project.ts';

/** The parts of medallion.yml a test project rewrites (the rest is kept as it is). */
export interface EditableConfig {
  events: { kafka: { topic: string; groupId: string }; contract: string; [key: string]: unknown };
  reference: { file: string }[];
  gold?: { project?: string };
  [key: string]: unknown;
}

/**
 * A copy of the flagship project's config in a temporary folder, with its own Kafka topic and
 * consumer group (so tests never share Kafka state) and every path pointing back at the flagship's
 * files. `edit` may change the parsed config before it is written.
 */
export async function tempProject(
  edit: (config: EditableConfig) => void = () => {},
): Promise<{ dir: string; home: string; topic: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'medallion-project-'));
  const home = join(dir, 'data');
  const config = parse(await readFile(join(FLAGSHIP_PROJECT_DIR, 'medallion.yml'), 'utf8')) as EditableConfig;
  const suffix = `${process.pid}-${Date.now().toString(36)}`;
  config.events.kafka.topic = `medallion.test.${suffix}`;
  config.events.kafka.groupId = `medallion-test-${suffix}`;
  config.events.contract = join(FLAGSHIP_PROJECT_DIR, config.events.contract);
  for (const r of config.reference) r.file = join(FLAGSHIP_PROJECT_DIR, r.file);
  config.gold = { project: join(FLAGSHIP_PROJECT_DIR, config.gold?.project ?? 'gold') };
  edit(config);
  await writeFile(join(dir, 'medallion.yml'), stringify(config));
  return {
    dir,
    home,
    topic: config.events.kafka.topic,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
