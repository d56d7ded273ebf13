/**
 * `npm run bench -- freshness [--rate N] [--seconds S] [--trigger-ms T] [--partitions P] [--brokers B] [--keep]`:
 * event-to-gold latency of `medallion run` in continuous mode under a steady stream.
 *
 * A `medallion run` child process (continuous, trigger interval T, default 1,000 ms) follows a
 * fresh Kafka topic while this process produces simulated events at a steady N events/s (default
 * 5,000) for S seconds (default 600). Afterwards, for every event: its production time is its
 * Kafka timestamp (bronze keeps it), and it appears in gold.fact_event_metrics when the cycle
 * whose refine picked it up has committed its gold build and released the warehouse (the run log
 * holds each cycle's refine start and end; an event belongs to the first cycle whose refine
 * started after the event's bronze batch was written). Latency = appearance − production; the
 * bench prints p50, p95 and max over all events. The objective (p95 ≤ 5 s) is the reference of the
 * result line; the Kafka → bronze part of the latency is reported beside it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { FLAGSHIP_PROJECT_DIR, loadProject, REPO_ROOT } from '../src/config/project.ts';
import { openDuckDb, quoteLiteral } from '../src/engine/duckdb.ts';
import type { RunLogEntry } from '../src/ops/run-log.ts';
import type { EventSink, SinkRecord } from '../src/simulate/event-sink.ts';
import { simulate } from '../src/simulate/simulate.ts';
import { type BenchResult, benchResult, note } from './bench-kit.ts';

const OBJECTIVE_P95_MS = 5_000;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wraps a sink so that records leave at a steady rate (slices every 100 ms), whatever the simulator's pace. */
function steady(inner: EventSink, perSecond: number, onSent: (n: number) => void): EventSink {
  const slice = Math.max(1, Math.round(perSecond / 10));
  let sent = 0;
  let start = 0;
  return {
    partitions: inner.partitions,
    async write(records: readonly SinkRecord[]) {
      if (start === 0) start = performance.now();
      for (let i = 0; i < records.length; i += slice) {
        const due = start + (sent / perSecond) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const part = records.slice(i, i + slice);
        await inner.write(part);
        sent += part.length;
        onSent(sent);
      }
    },
    close: () => inner.close(),
  };
}

async function readRunLog(home: string): Promise<RunLogEntry[]> {
  const text = await readFile(join(home, 'runlog', 'runs.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as RunLogEntry];
      } catch {
        return [];
      }
    });
}

export async function run(args: string[]): Promise<BenchResult> {
  const rate = Number(flag(args, 'rate') ?? 5_000);
  const seconds = Number(flag(args, 'seconds') ?? 600);
  const triggerMs = Number(flag(args, 'trigger-ms') ?? 1_000);
  const partitions = Number(flag(args, 'partitions') ?? 3);
  const keep = args.includes('--keep');
  const brokers =
    flag(args, 'brokers') ??
    process.env.MEDALLION_TEST_KAFKA ??
    process.env.MEDALLION_KAFKA_BROKERS ??
    '127.0.0.1:9092';
  const events = rate * seconds;
  const dir = await mkdtemp(join(tmpdir(), 'medallion-bench-freshness-'));
  const home = join(dir, 'data');
  const config = parse(await readFile(join(FLAGSHIP_PROJECT_DIR, 'medallion.yml'), 'utf8'));
  const suffix = `${process.pid}-${Date.now().toString(36)}`;
  const topic = `medallion.bench.freshness.${suffix}`;
  config.events.kafka = { ...config.events.kafka, topic, groupId: `medallion-bench-${suffix}`, partitions };
  config.events.contract = join(FLAGSHIP_PROJECT_DIR, config.events.contract);
  for (const r of config.reference) r.file = join(FLAGSHIP_PROJECT_DIR, r.file);
  config.gold = { project: join(FLAGSHIP_PROJECT_DIR, config.gold?.project ?? 'gold') };
  config.run = { ...config.run, triggerIntervalMs: triggerMs };
  await writeFile(join(dir, 'medallion.yml'), stringify(config));
  const env = { ...process.env, MEDALLION_HOME: home, MEDALLION_QUIET: '1', MEDALLION_KAFKA_BROKERS: brokers };

  const { ensureTopic, parseBrokers, deleteTopic } = await import('../src/sources/kafka/index.ts');
  const { openKafkaSimulatorSink } = await import('../src/sources/kafka/simulator-sink.ts');
  await ensureTopic(parseBrokers(brokers), topic, partitions);

  note(`medallion run (continuous, trigger ${triggerMs} ms) on ${topic} (${partitions} partitions) at ${brokers}`);
  let stderr = '';
  const child: ChildProcess = spawn(
    process.execPath,
    [join(REPO_ROOT, 'bin', 'medallion.js'), 'run', '--project', dir, '--kafka', brokers],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (d) => {
    stderr = (stderr + d).slice(-20_000);
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    // The first cycle (reference data, an empty event batch, the first gold build) before the clock starts.
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`medallion run exited early:\n${stderr}`);
      const log = await readRunLog(home);
      if (log.some((e) => e.job === 'run.cycle' && e.status === 'success')) break;
      if (i > 600) throw new Error(`medallion run did not finish its first cycle in 5 minutes:\n${stderr}`);
      await sleep(500);
    }
    note(`producing ${events.toLocaleString('en-US')} events at ${rate.toLocaleString('en-US')}/s for ${seconds} s`);
    const project = loadProject({ projectDir: dir, dataDir: home });
    const sink = steady(await openKafkaSimulatorSink(project, brokers), rate, (n) => {
      if (n % (rate * 30) < Math.max(1, Math.round(rate / 10))) note(`  ${n.toLocaleString('en-US')} produced`);
    });
    const started = performance.now();
    try {
      await simulate(project, { events, faults: 'none' }, sink);
    } finally {
      await sink.close();
    }
    note(`produced in ${((performance.now() - started) / 1000).toFixed(1)} s; waiting for the last cycle`);
    const lastEventAt = Date.now();
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`medallion run exited early:\n${stderr}`);
      const cycles = (await readRunLog(home)).filter((e) => e.job === 'run.cycle' && e.status === 'success');
      const ingested = cycles.reduce((n, c) => n + Number((c.counts as { ingested?: number })?.ingested ?? 0), 0);
      if (ingested >= events && Date.parse(cycles.at(-1)!.finishedAt) > lastEventAt) break;
      if (i > 1200) throw new Error(`not every event reached gold within 10 minutes of the last one:\n${stderr}`);
      await sleep(500);
    }
    child.kill('SIGINT');
    await exited;

    const log = await readRunLog(home);
    const cycles = log.filter((e) => e.job === 'run.cycle' && e.status === 'success');
    const failedCycles = log.filter((e) => e.job === 'run.cycle' && e.status === 'failed').length;
    const refineStart = new Map(
      log.filter((e) => e.job === 'refine' && e.parentRunId).map((e) => [e.parentRunId!, e.startedAt]),
    );
    const rows = cycles
      .filter((c) => refineStart.has(c.runId))
      .map(
        (c) =>
          `(TIMESTAMP '${refineStart.get(c.runId)!.replace('T', ' ').replace('Z', '')}', TIMESTAMP '${c.finishedAt.replace('T', ' ').replace('Z', '')}')`,
      );
    const db = await openDuckDb(':memory:');
    try {
      await db.exec(`CREATE TABLE cycles (refine_start TIMESTAMP, visible_at TIMESTAMP)`);
      await db.exec(`INSERT INTO cycles VALUES ${rows.join(', ')}`);
      const bronze = quoteLiteral(join(home, 'lake', 'bronze', 'attendance_events', '**', '*.parquet'));
      const [r] = await db.all<{
        n: number;
        unassigned: number;
        p50: number;
        p95: number;
        max: number;
        b50: number;
        b95: number;
      }>(
        `WITH ev AS (
           SELECT kafka_timestamp AS produced, ingested_at FROM read_parquet(${bronze}, hive_partitioning = false)
         ),
         lat AS (
           SELECT epoch_ms(c.visible_at) - epoch_ms(ev.produced) AS ms, epoch_ms(ev.ingested_at) - epoch_ms(ev.produced) AS bronze_ms
           FROM ev ASOF LEFT JOIN cycles c ON c.refine_start >= ev.ingested_at
         )
         SELECT count(*)::BIGINT AS n, count(*) FILTER (WHERE ms IS NULL)::BIGINT AS unassigned,
                quantile_cont(ms, 0.5) AS p50, quantile_cont(ms, 0.95) AS p95, max(ms)::DOUBLE AS max,
                quantile_cont(bronze_ms, 0.5) AS b50, quantile_cont(bronze_ms, 0.95) AS b95
         FROM lat`,
      );
      if (!r) throw new Error('no bronze rows');
      note(
        `${Number(r.n).toLocaleString('en-US')} events, ${cycles.length} cycles (${failedCycles} failed); ` +
          `event → gold p50 ${Math.round(r.p50)} ms, p95 ${Math.round(r.p95)} ms, max ${Math.round(r.max)} ms; ` +
          `event → bronze p50 ${Math.round(r.b50)} ms, p95 ${Math.round(r.b95)} ms` +
          (Number(r.unassigned) > 0 ? `; ${r.unassigned} events matched no cycle` : ''),
      );
      return benchResult(
        'freshness',
        'ms (event → gold p95; reference: the objective)',
        'lower',
        [r.p95],
        [OBJECTIVE_P95_MS],
        {
          events: Number(r.n),
          rate,
          seconds,
          triggerMs,
          partitions,
          cycles: cycles.length,
          failedCycles,
          p50Ms: Math.round(r.p50),
          p95Ms: Math.round(r.p95),
          maxMs: Math.round(r.max),
          bronzeP50Ms: Math.round(r.b50),
          bronzeP95Ms: Math.round(r.b95),
        },
      );
    } finally {
      await db.close();
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await deleteTopic(parseBrokers(brokers), topic).catch(() => {});
    if (keep) note(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}
