/**
 * `npm run bench -- ingest [--events N] [--runs R] [--brokers B] [--batch-records N] [--batch-bytes B] [--heap MiB]
 *  [--references kcat,console,platformatic] [--keep]`:
 * Kafka → bronze. The batch limits default to the flagship project's; the ingesting process runs
 * with the V8 flags `medallion ingest` gets for them (src/ingest/ingest-heap.ts) unless `--heap`
 * sets the old-space cap (MiB) instead.
 *
 * Produces N simulated events (default 1,000,000) to a fresh 6-partition topic, then, R times
 * (default 3) on that same topic: Medallion's ingest (a child process: join the group, read every
 * partition to its end, write zstd Parquet to a fresh data directory, commit) and raw consumes of
 * the same topic to nothing: kcat (librdkafka; `apt-get install kcat`), Kafka's own console consumer
 * and @platformatic/kafka's consumer stream (see `references`; `--references` picks). The ratio is
 * against the first available (kcat, else the console consumer). Unit: records/s (higher is
 * better). The details carry every side's runs, Medallion's ratio to each raw consume, its peak
 * RSS and what the resident size was made of at the peak.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { FLAGSHIP_PROJECT_DIR, REPO_ROOT } from '../src/config/project.ts';
import { ingestNodeFlags } from '../src/ingest/ingest-heap.ts';
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
): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string; ms: number }> {
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
    child.on('close', (code, signal) => resolve({ code, signal, out, err, ms: performance.now() - t0 }));
  });
}

/** The child side: one ingest of the whole topic, in-process, reporting records, time and peak RSS. */
async function child(projectDir: string, dataDir: string, brokers: string): Promise<void> {
  const { openContext } = await import('../src/pipeline/context.ts');
  const { IngestSession } = await import('../src/ingest/ingest-job.ts');
  const { createEventSource } = await import('../src/sources/event-source.ts');
  const ctx = await openContext({ projectDir, dataDir });
  // What the resident size is made of when it peaks (sampled): V8's heap and memory outside it
  // (Buffers of fetch responses, DuckDB's allocations).
  let peak = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = setInterval(() => {
    if (process.memoryUsage.rss() > peak.rss) peak = process.memoryUsage();
  }, 50);
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
  clearInterval(sample);
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  const mib = (n: number) => Math.round(n / 1024 / 1024);
  const atPeak = {
    rss: mib(peak.rss),
    heapTotal: mib(peak.heapTotal),
    heapUsed: mib(peak.heapUsed),
    external: mib(peak.external),
    arrayBuffers: mib(peak.arrayBuffers),
  };
  process.stdout.write(`${JSON.stringify({ records: r.records, files: r.files.length, ms, peakRssMiB, atPeak })}\n`);
}

interface Reference {
  readonly name: string;
  readonly cmd: readonly string[];
}

/**
 * The raw consumers measured on the same topic, each reading it from the start to /dev/null: kcat
 * (librdkafka, C) when installed, Kafka's own console consumer (Java, from the jars scripts/kafka.sh
 * caches; its time includes the JVM's start) when java and the jars are there, and
 * @platformatic/kafka's consumer stream (the client Medallion is built on) dropping each message.
 * The first one available is the reference of the ratio.
 */
function references(brokers: string, topic: string, expected: number, wanted: readonly string[]): Reference[] {
  const out: Reference[] = [];
  if (wanted.includes('kcat') && spawnSync('kcat', ['-V']).status === 0)
    out.push({ name: 'kcat', cmd: ['kcat', '-C', '-b', brokers, '-t', topic, '-o', 'beginning', '-e', '-q'] });
  const libs = wanted.includes('console') ? consoleConsumerLibs() : undefined;
  if (libs)
    out.push({
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
    });
  if (wanted.includes('platformatic'))
    out.push({
      name: 'platformatic-kafka-raw',
      cmd: [process.execPath, here, '--raw-child', brokers, topic, String(expected)],
    });
  return out;
}

/**
 * The jars of Kafka's console consumer (org.apache.kafka:kafka-tools and its runtime dependencies;
 * the broker's jars that scripts/kafka.sh fetches do not include it), fetched from Maven Central by
 * `mvn` once into the cache; undefined when java or mvn is missing or the fetch fails.
 */
function consoleConsumerLibs(): string | undefined {
  const version = '4.4.0';
  const root = join(process.env.MEDALLION_CACHE ?? join(homedir(), '.cache', 'medallion'), `kafka-tools-${version}`);
  const libs = join(root, 'libs');
  if (spawnSync('java', ['-version']).status !== 0) return undefined;
  if (existsSync(join(libs, '.complete'))) return libs;
  if (spawnSync('mvn', ['-v']).status !== 0) return undefined;
  note(`fetching org.apache.kafka:kafka-tools:${version} (the console consumer) from Maven Central into ${libs}`);
  mkdirSync(root, { recursive: true });
  const pom = join(root, 'pom.xml');
  writeFileSync(
    pom,
    `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>medallion</groupId><artifactId>kafka-tools-runtime</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>${version}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-nop</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
`,
  );
  const r = spawnSync(
    'mvn',
    [
      '-B',
      '-ntp',
      '-f',
      pom,
      'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${libs}`,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) {
    const cause = (r.stdout ?? '').split('\n').find((l) => l.startsWith('[ERROR]')) ?? `mvn exited ${r.status}`;
    note(`no console consumer: its jars could not be fetched (${cause})`);
    return undefined;
  }
  writeFileSync(join(libs, '.complete'), '');
  return libs;
}

/** The child side of the @platformatic/kafka reference: prints {"records","ms"}. */
async function rawChild(brokers: string, topic: string, expected: number): Promise<void> {
  const { rawConsume } = await import('../src/sources/kafka/raw-consume.ts');
  const { parseBrokers } = await import('../src/sources/kafka/index.ts');
  const r = await rawConsume(parseBrokers(brokers), topic, expected);
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
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
  const atPeaks: Record<string, number>[] = [];
  const refs = references(brokers, topic, events, (flag(args, 'references') ?? 'kcat,console,platformatic').split(','));
  if (refs.length === 0) throw new Error('no reference consumer available (kcat, java + Kafka jars, platformatic)');
  const ref = refs[0]!;
  const others = new Map<string, number[]>(refs.map((r) => [r.name, []]));
  // The V8 flags `medallion ingest` would run with for this project (bin/medallion.js), or --heap.
  const heap = flag(args, 'heap');
  const nodeFlags = heap ? [`--max-old-space-size=${heap}`] : ingestNodeFlags(['--project', dir], [], undefined);
  try {
    note(`producing ${events.toLocaleString('en-US')} simulated events to ${topic} (6 partitions) on ${brokers}`);
    const sim = await exec(node, [bin, 'simulate', '--project', dir, '--kafka', brokers, '--events', String(events)], {
      MEDALLION_HOME: join(dir, 'sim-home'),
      MEDALLION_QUIET: '1',
    });
    if (sim.code !== 0) throw new Error(`simulate failed (exit ${sim.code ?? sim.signal}): ${sim.err}`);
    for (let i = 0; i < runs; i++) {
      const home = join(dir, `home-${i}`);
      const m = await exec(node, [...nodeFlags, here, '--child', dir, home, brokers], {
        MEDALLION_QUIET: '1',
      });
      if (m.code !== 0) throw new Error(`medallion ingest failed (exit ${m.code ?? m.signal}): ${m.err}`);
      const got = JSON.parse(m.out.trim().split('\n').at(-1)!) as {
        records: number;
        ms: number;
        peakRssMiB: number;
        atPeak: Record<string, number>;
      };
      atPeaks.push(got.atPeak);
      if (got.records !== events) throw new Error(`medallion ingested ${got.records} records, expected ${events}`);
      medallionMs.push(got.ms);
      peaks.push(got.peakRssMiB);
      await rm(home, { recursive: true, force: true });
      const line: string[] = [];
      for (const rf of refs) {
        const raw = rf.name === 'platformatic-kafka-raw';
        const r = await exec(rf.cmd[0]!, rf.cmd.slice(1), {}, raw ? 'pipe' : 'ignore');
        if (r.code !== 0) throw new Error(`${rf.name} failed (exit ${r.code ?? r.signal}): ${r.err}`);
        // The raw child times itself (from creating the consumer), leaving out Node's start.
        const ms = raw ? (JSON.parse(r.out.trim().split('\n').at(-1)!) as { ms: number }).ms : r.ms;
        others.get(rf.name)!.push(ms);
        if (rf === ref) referenceMs.push(ms);
        line.push(`${rf.name} ${Math.round(events / (ms / 1000))}`);
      }
      note(
        `run ${i + 1}/${runs}: medallion ${Math.round(events / (got.ms / 1000))} records/s (peak RSS ${got.peakRssMiB.toFixed(0)} MiB; at the peak: V8 heap ${got.atPeak['heapTotal']} MiB, external ${got.atPeak['external']} MiB); raw consume records/s: ${line.join(', ')}`,
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
    nodeFlags,
    reference: ref.name,
    medallionRecordsPerS: medallionMs.map((ms) => Math.round(rate(ms))),
    referenceRecordsPerS: referenceMs.map((ms) => Math.round(rate(ms))),
    rawConsumeRecordsPerS: Object.fromEntries(
      [...others].map(([name, ms]) => [
        name,
        { runs: ms.map((m) => Math.round(rate(m))), median: Math.round(rate(median(ms))) },
      ]),
    ),
    ratioTo: Object.fromEntries(
      [...others].map(([name, ms]) => [name, Number((median(ms) / median(medallionMs)).toFixed(3))]),
    ),
    peakRssMiB: peaks.map((p) => Math.round(p)),
    peakRssMiBMax: Math.round(Math.max(...peaks)),
    memoryAtPeakMiB: atPeaks,
    medianMs: { medallion: Math.round(median(medallionMs)), reference: Math.round(median(referenceMs)) },
  });
}

if (process.argv[2] === '--raw-child' && process.argv[1] === here) {
  await rawChild(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
}
if (process.argv[2] === '--child' && process.argv[1] === here) {
  await child(process.argv[3]!, process.argv[4]!, process.argv[5]!);
}
