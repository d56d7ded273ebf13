/**
 * `npm run bench -- ingest [--events N] [--runs R] [--brokers B] [--batch-records N] [--batch-bytes B] [--heap MiB] [--keep]`:
 * Kafka → bronze. The batch limits default to the flagship project's; `--heap` caps V8's old space
 * of the ingesting process (`--max-old-space-size`, as NODE_OPTIONS would for `medallion ingest`).
 *
 * Produces N simulated events (default 1,000,000) to a fresh 6-partition topic, then, R times
 * (default 3) on that same topic: Medallion's ingest (a child process: join the group, read every
 * partition to its end, write zstd Parquet to a fresh data directory, commit) and the reference, a
 * raw consume of the same topic to /dev/null by kcat (librdkafka; `apt-get install kcat`), or by
 * Kafka's own console consumer when kcat is missing. Unit: records/s (higher is better). The
 * details carry each side's runs and Medallion's peak RSS.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { FLAGSHIP_PROJECT_DIR, REPO_ROOT } from '../src/config/project.ts';
import { type BenchResult, benchResult, median, note } from './bench-kit.ts';

const here = fileURLToPath(import.meta.url);

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

function exec(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  stdout: 'pipe' | 'ignore' = 'pipe',
): Promise<{ code: number | null; out: string; err: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', stdout, 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d) => {
      out += d;
    });
    child.stderr?.on('data', (d) => {
      err = (err + d).slice(-8000);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err, ms: performance.now() - t0 }));
  });
}

/** The child side: one ingest of the whole topic, in-process, reporting records, time and peak RSS. */
async function child(projectDir: string, dataDir: string, brokers: string): Promise<void> {
  const { openContext } = await import('../src/pipeline/context.ts');
  const { IngestSession } = await import('../src/ingest/ingest-job.ts');
  const { createEventSource } = await import('../src/sources/event-source.ts');
  const ctx = await openContext({ projectDir, dataDir });
  const t0 = performance.now();
  const session = await IngestSession.open(
    ctx.project,
    await createEventSource(ctx.project, brokers),
    ctx.storage,
    ctx.engine,
  );
  const r = await session.pump({ until: 'caught-up' });
  await session.close();
  const ms = performance.now() - t0;
  await ctx.close();
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ records: r.records, files: r.files.length, ms, peakRssMiB })}\n`);
}

/** kcat when installed, else Kafka's console consumer from the jars scripts/kafka.sh caches. */
function referenceCommand(brokers: string, topic: string, expected: number): { name: string; cmd: string[] } {
  if (spawnSync('kcat', ['-V']).status === 0)
    return { name: 'kcat', cmd: ['kcat', '-C', '-b', brokers, '-t', topic, '-o', 'beginning', '-e', '-q'] };
  const libs = join(process.env.MEDALLION_CACHE ?? join(homedir(), '.cache', 'medallion'), 'kafka-4.4.0', 'libs');
  return {
    name: 'kafka-console-consumer',
    cmd: [
      'java',
      '-cp',
      `${libs}/*`,
      'org.apache.kafka.tools.consumer.ConsoleConsumer',
      '--bootstrap-server',
      brokers,
      '--topic',
      topic,
      '--from-beginning',
      '--max-messages',
      String(expected),
    ],
  };
}

export async function run(args: string[]): Promise<BenchResult> {
  const events = Number(flag(args, 'events') ?? 1_000_000);
  const runs = Number(flag(args, 'runs') ?? 3);
  const brokers =
    flag(args, 'brokers') ??
    process.env.MEDALLION_TEST_KAFKA ??
    process.env.MEDALLION_KAFKA_BROKERS ??
    '127.0.0.1:9092';
  const node = process.execPath;
  const dir = await mkdtemp(join(tmpdir(), 'medallion-bench-ingest-'));
  const config = parse(await readFile(join(FLAGSHIP_PROJECT_DIR, 'medallion.yml'), 'utf8'));
  const suffix = `${process.pid}-${Date.now().toString(36)}`;
  const topic = `medallion.bench.ingest.${suffix}`;
  config.events.kafka = { ...config.events.kafka, topic, groupId: `medallion-bench-${suffix}`, partitions: 6 };
  const batchRecords = flag(args, 'batch-records');
  const batchBytes = flag(args, 'batch-bytes');
  if (batchRecords) config.events.batch.maxRecords = Number(batchRecords);
  if (batchBytes) config.events.batch.maxBytes = Number(batchBytes);
  config.events.contract = join(FLAGSHIP_PROJECT_DIR, config.events.contract);
  for (const r of config.reference) r.file = join(FLAGSHIP_PROJECT_DIR, r.file);
  config.gold = { project: join(FLAGSHIP_PROJECT_DIR, config.gold?.project ?? 'gold') };
  await writeFile(join(dir, 'medallion.yml'), stringify(config));
  const bin = join(REPO_ROOT, 'bin', 'medallion.js');
  const medallionMs: number[] = [];
  const referenceMs: number[] = [];
  const peaks: number[] = [];
  const ref = referenceCommand(brokers, topic, events);
  try {
    note(`producing ${events.toLocaleString('en-US')} simulated events to ${topic} (6 partitions) on ${brokers}`);
    const sim = await exec(node, [bin, 'simulate', '--project', dir, '--kafka', brokers, '--events', String(events)], {
      MEDALLION_HOME: join(dir, 'sim-home'),
      MEDALLION_QUIET: '1',
    });
    if (sim.code !== 0) throw new Error(`simulate failed: ${sim.err}`);
    for (let i = 0; i < runs; i++) {
      const home = join(dir, `home-${i}`);
      const heap = flag(args, 'heap');
      const m = await exec(
        node,
        [...(heap ? [`--max-old-space-size=${heap}`] : []), here, '--child', dir, home, brokers],
        {
          MEDALLION_QUIET: '1',
        },
      );
      if (m.code !== 0) throw new Error(`medallion ingest failed: ${m.err}`);
      const got = JSON.parse(m.out.trim().split('\n').at(-1)!) as { records: number; ms: number; peakRssMiB: number };
      if (got.records !== events) throw new Error(`medallion ingested ${got.records} records, expected ${events}`);
      medallionMs.push(got.ms);
      peaks.push(got.peakRssMiB);
      await rm(home, { recursive: true, force: true });
      const r = await exec(ref.cmd[0]!, ref.cmd.slice(1), {}, 'ignore');
      if (r.code !== 0) throw new Error(`${ref.name} failed: ${r.err}`);
      referenceMs.push(r.ms);
      note(
        `run ${i + 1}/${runs}: medallion ${Math.round(events / (got.ms / 1000))} records/s (peak RSS ${got.peakRssMiB.toFixed(0)} MiB), ${ref.name} ${Math.round(events / (r.ms / 1000))} records/s`,
      );
    }
  } finally {
    const { deleteTopic, parseBrokers } = await import('../src/sources/kafka/index.ts');
    await deleteTopic(parseBrokers(brokers), topic).catch(() => {});
    if (!args.includes('--keep')) await rm(dir, { recursive: true, force: true });
  }
  const rate = (ms: number) => events / (ms / 1000);
  return benchResult('ingest', 'records/s', 'higher', medallionMs.map(rate), referenceMs.map(rate), {
    events,
    partitions: 6,
    batch: config.events.batch,
    heapMiB: flag(args, 'heap') ?? null,
    reference: ref.name,
    medallionRecordsPerS: medallionMs.map((ms) => Math.round(rate(ms))),
    referenceRecordsPerS: referenceMs.map((ms) => Math.round(rate(ms))),
    peakRssMiB: peaks.map((p) => Math.round(p)),
    peakRssMiBMax: Math.round(Math.max(...peaks)),
    medianMs: { medallion: Math.round(median(medallionMs)), reference: Math.round(median(referenceMs)) },
  });
}

if (process.argv[2] === '--child' && process.argv[1] === here) {
  await child(process.argv[3]!, process.argv[4]!, process.argv[5]!);
}
