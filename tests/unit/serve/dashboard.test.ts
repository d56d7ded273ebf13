import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadProject, type PipelineProject } from '../../../src/config/project.ts';
import { openDuckDb, type Row } from '../../../src/engine/duckdb.ts';
import { type Dashboard, startDashboard } from '../../../src/serve/dashboard.ts';
import { buildGoldFixture, FIXTURE_EARLIER, FIXTURE_LATEST } from './gold-fixture.ts';

const DUCKDB_MODULE = fileURLToPath(new URL('../../../src/engine/duckdb.ts', import.meta.url));

/** Runs SQL on the fixture warehouse directly (read-only), independently of the dashboard's own SQL. */
async function sql<T extends Row>(path: string, text: string, params: unknown[] = []): Promise<T[]> {
  const db = await openDuckDb(path, { readOnly: true });
  try {
    return await db.all<T>(text, params);
  } finally {
    await db.close();
  }
}

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are checked field by field below.
type Json = any;

async function getJson(url: string): Promise<{ status: number; headers: Headers; body: Json }> {
  const res = await fetch(url);
  return { status: res.status, headers: res.headers, body: await res.json() };
}

/** Every number anywhere in a JSON value. */
function numbersIn(value: unknown): number[] {
  if (typeof value === 'number') return [value];
  if (Array.isArray(value)) return value.flatMap(numbersIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(numbersIn);
  return [];
}

/** A second process holding the warehouse open read-write (as load or build would), until released. */
async function holdWriteLock(path: string, write: boolean): Promise<{ release(): Promise<void> }> {
  const script = `
    import { openDuckDb } from ${JSON.stringify(DUCKDB_MODULE)};
    const db = await openDuckDb(${JSON.stringify(path)});
    if (${write}) await db.exec('CREATE OR REPLACE TABLE main.writer_was_here AS SELECT 1 AS x');
    process.stdout.write('ready\\n');
    process.stdin.resume();
    process.stdin.on('end', async () => { await db.close(); process.exit(0); });
  `;
  const child: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`lock holder exited early (${code})`)));
    child.stdout!.once('data', () => resolve());
  });
  child.removeAllListeners('exit');
  return {
    release: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin!.end();
      }),
  };
}

describe('dashboard over a gold fixture', () => {
  let dir: string;
  let project: PipelineProject;
  let warehouse: string;
  let dashboard: Dashboard;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medallion-serve-'));
    project = loadProject({ dataDir: dir });
    warehouse = project.paths.warehouse;
    await buildGoldFixture(warehouse);
    dashboard = await startDashboard({ project, port: 0 });
  });

  after(async () => {
    await dashboard?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('binds to 127.0.0.1 by default and reports the real port', () => {
    const url = new URL(dashboard.url);
    assert.equal(url.hostname, '127.0.0.1');
    assert.ok(Number(url.port) > 0, `a real port in ${dashboard.url}`);
  });

  test('/api/now: citywide figures of the latest day equal SQL on gold', async () => {
    const { status, body, headers } = await getJson(`${dashboard.url}api/now`);
    assert.equal(status, 200);
    assert.match(headers.get('content-type') ?? '', /application\/json/);
    const [expected] = await sql<{ day: string; rate: number; schools: number; students: number }>(
      warehouse,
      `SELECT strftime(event_date, '%Y-%m-%d') AS day, sum(present + late)::DOUBLE / sum(enrolled) AS rate,
              count(*)::INTEGER AS schools, sum(enrolled)::INTEGER AS students
       FROM gold.fact_event_metrics
       WHERE event_date = (SELECT max(event_date) FROM gold.fact_event_metrics)
       GROUP BY event_date`,
    );
    assert.equal(body.date, FIXTURE_LATEST);
    assert.equal(expected!.day, FIXTURE_LATEST);
    assert.equal(body.citywide.attendanceRate, expected!.rate);
    assert.equal(body.citywide.attendanceRate, 628 / 687);
    assert.equal(body.citywide.schools, 7);
    assert.equal(body.citywide.schools, expected!.schools);
    assert.equal(body.citywide.students, 687);
    assert.equal(body.citywide.students, expected!.students);
    assert.equal(body.minGroupSize, 10);
    assert.equal(body.streamedDays, 2);
    assert.equal(body.stale, false);
  });

  test('/api/now: boroughs equal SQL on gold, and Staten Island (7 students) is suppressed', async () => {
    const { body } = await getJson(`${dashboard.url}api/now`);
    const expected = await sql<{ borough: string; schools: number; students: number; rate: number }>(
      warehouse,
      `SELECT s.borough_name AS borough, count(*)::INTEGER AS schools, sum(f.enrolled)::INTEGER AS students,
              sum(f.present + f.late)::DOUBLE / sum(f.enrolled) AS rate
       FROM gold.fact_event_metrics f JOIN gold.dim_school s USING (dbn)
       WHERE f.event_date = ?::DATE
       GROUP BY 1 ORDER BY 1`,
      [FIXTURE_LATEST],
    );
    assert.deepEqual(
      body.boroughs,
      expected.map((e) =>
        e.students < 10
          ? { borough: e.borough, schools: e.schools, students: 's', attendanceRate: 's' }
          : { borough: e.borough, schools: e.schools, students: e.students, attendanceRate: e.rate },
      ),
    );
    const bronx = body.boroughs.find((b: { borough: string }) => b.borough === 'Bronx');
    assert.deepEqual(bronx, { borough: 'Bronx', schools: 2, students: 190, attendanceRate: 166 / 190 });
    const statenIsland = body.boroughs.find((b: { borough: string }) => b.borough === 'Staten Island');
    assert.deepEqual(statenIsland, { borough: 'Staten Island', schools: 1, students: 's', attendanceRate: 's' });
    assert.ok(!numbersIn(body).includes(6 / 7), 'the suppressed rate never leaves the server');
  });

  test('/api/now: ENI quintiles, streaming next to official, suppressed under 10 students', async () => {
    const { body } = await getJson(`${dashboard.url}api/now`);
    const expected = await sql<Row>(
      warehouse,
      `SELECT group_key, schools, students, streaming_attendance_rate, official_attendance_rate,
              streaming_chronic_absence_rate, official_chronic_absence_rate
       FROM gold.fact_equity_metrics WHERE group_type = 'eni_quintile' ORDER BY group_key`,
    );
    const [officialUnknown] = await sql<{ n: number }>(
      warehouse,
      `SELECT sum(official_students_contributing)::INTEGER AS n FROM gold.dim_school
       WHERE eni_quintile IS NULL AND dbn IN (SELECT dbn FROM gold.fact_event_metrics)`,
    );
    assert.equal(officialUnknown!.n, 8, 'fixture: 8 official students in streamed schools without ENI');
    assert.deepEqual(
      body.equity.map((r: { group: string }) => r.group),
      ['Q1', 'Q2', 'Q3', 'Q4', 'Q5', 'unknown'],
    );
    for (const e of expected) {
      const row = body.equity.find((r: { group: string }) => r.group === e.group_key);
      const streamOk = (e.students as number) >= 10;
      const officialOk = e.group_key !== 'unknown';
      assert.deepEqual(row, {
        group: e.group_key,
        schools: e.schools,
        students: streamOk ? e.students : 's',
        streamingAttendanceRate: streamOk ? e.streaming_attendance_rate : 's',
        officialAttendanceRate: officialOk ? e.official_attendance_rate : 's',
        streamingChronicAbsenceRate: streamOk ? e.streaming_chronic_absence_rate : 's',
        officialChronicAbsenceRate: officialOk ? e.official_chronic_absence_rate : 's',
      });
    }
    const q4 = body.equity.find((r: { group: string }) => r.group === 'Q4');
    assert.equal(q4.students, 's');
    assert.equal(q4.officialAttendanceRate, 0.9205);
    const published = numbersIn(body.equity);
    for (const hidden of [9, 0.916667, 0.222222, 0.91, 0.3]) {
      assert.ok(!published.includes(hidden), `suppressed ${hidden} never leaves the server`);
    }
  });

  test('/api/now?date= shows that day; unknown days are a 404, malformed ones a 400', async () => {
    const earlier = await getJson(`${dashboard.url}api/now?date=${FIXTURE_EARLIER}`);
    assert.equal(earlier.status, 200);
    assert.equal(earlier.body.date, FIXTURE_EARLIER);
    const [expected] = await sql<{ rate: number; students: number }>(
      warehouse,
      `SELECT sum(present + late)::DOUBLE / sum(enrolled) AS rate, sum(enrolled)::INTEGER AS students
       FROM gold.fact_event_metrics WHERE event_date = ?::DATE`,
      [FIXTURE_EARLIER],
    );
    assert.equal(earlier.body.citywide.attendanceRate, expected!.rate);
    assert.equal(earlier.body.citywide.students, expected!.students);
    assert.equal(earlier.body.citywide.schools, 6);

    const missing = await getJson(`${dashboard.url}api/now?date=2018-12-25`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'MDL_NOTHING_TO_SERVE');

    for (const bad of ['2018-13-40', "2018-10-02'%20OR%201=1", 'yesterday', '']) {
      const res = await getJson(`${dashboard.url}api/now?date=${bad}`);
      assert.equal(res.status, 400, `date=${bad}`);
      assert.equal(res.body.error.code, 'MDL_USAGE');
      assert.match(res.body.error.message, /date/);
    }
    const unknown = await getJson(`${dashboard.url}api/now?limit=5`);
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /unknown query parameter "limit"/);
    const twice = await getJson(`${dashboard.url}api/now?date=${FIXTURE_LATEST}&date=${FIXTURE_EARLIER}`);
    assert.equal(twice.status, 400);
  });

  test('/api/dates lists the school days, latest first', async () => {
    const { status, body } = await getJson(`${dashboard.url}api/dates`);
    assert.equal(status, 200);
    assert.deepEqual(body.dates, [FIXTURE_LATEST, FIXTURE_EARLIER]);
  });

  test('/api/health reports gold ready', async () => {
    const { status, body } = await getJson(`${dashboard.url}api/health`);
    assert.equal(status, 200);
    assert.deepEqual(body, { status: 'ok', gold: 'ready' });
  });

  test('unknown API routes answer 404 JSON; other methods too', async () => {
    const res = await getJson(`${dashboard.url}api/nope`);
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'MDL_USAGE');
    assert.match(res.body.error.message, /No API endpoint GET \/api\/nope/);
    const post = await fetch(`${dashboard.url}api/now`, { method: 'POST' });
    assert.equal(post.status, 404);
    assert.equal((await post.json()).error.code, 'MDL_USAGE');
    const page = await fetch(`${dashboard.url}etc/passwd`);
    assert.equal(page.status, 404);
    const traversal = await fetch(`${dashboard.url}static/..%2f..%2fdashboard.ts`);
    assert.equal(traversal.status, 404);
  });

  test('strict security headers; the page has no inline script or style', async () => {
    for (const path of ['', 'api/now', 'api/nope', 'static/now.js']) {
      const res = await fetch(`${dashboard.url}${path}`);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'none'/, path);
      assert.match(csp, /script-src 'self'(;|$)/, path);
      assert.match(csp, /style-src 'self'(;|$)/, path);
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      await res.arrayBuffer();
    }
    const html = await (await fetch(dashboard.url)).text();
    assert.match(html, /<h1>/);
    for (const [tag] of html.matchAll(/<script\b[^>]*>/g)) assert.match(tag, /\ssrc="\/(static|vendor)\//, tag);
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=|https?:\/\//i);
  });

  test('serves Chart.js from node_modules, with validators', async () => {
    const res = await fetch(`${dashboard.url}vendor/chart.umd.min.js`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/javascript/);
    const body = await res.text();
    const installed = join(dirname(fileURLToPath(import.meta.resolve('chart.js'))), 'chart.umd.min.js');
    assert.equal(body, await readFile(installed, 'utf8'));
    assert.match(body, /Chart\.js v4/);
    const etag = res.headers.get('etag')!;
    const again = await fetch(`${dashboard.url}vendor/chart.umd.min.js`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
  });

  test('refuses a foreign Host header (DNS rebinding)', async () => {
    const { port } = new URL(dashboard.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/api/now', headers: { host: `attacker.example:${port}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 421);
    const local = await fetch(`http://localhost:${port}/api/health`).catch(() => undefined);
    if (local) assert.equal(local.status, 200);
  });

  test('a second dashboard on a taken port fails with MDL_SERVE_PORT_IN_USE', async () => {
    const port = Number(new URL(dashboard.url).port);
    await assert.rejects(startDashboard({ project, port }), { code: 'MDL_SERVE_PORT_IN_USE' });
  });

  test('a writer holding the warehouse: 503 with nothing read yet, the last figures (stale) after', async () => {
    const fresh = await startDashboard({ project, port: 0 });
    try {
      const holder = await holdWriteLock(warehouse, false);
      try {
        const locked = await getJson(`${fresh.url}api/now`);
        assert.equal(locked.status, 503);
        assert.equal(locked.body.error.code, 'MDL_WAREHOUSE_LOCKED');
        assert.equal(locked.headers.get('retry-after'), '2');
      } finally {
        await holder.release();
      }
      const first = await getJson(`${fresh.url}api/now`);
      assert.equal(first.status, 200);
      assert.equal(first.body.stale, false);
      // The reader copies gold and lets go of the file at once: a writer that does not retry gets in
      // right after a read (holdWriteLock fails if its open does).
      const writer = await holdWriteLock(warehouse, true);
      try {
        const stale = await getJson(`${fresh.url}api/now`);
        assert.equal(stale.status, 200);
        assert.equal(stale.body.stale, true);
        assert.equal(stale.body.citywide.attendanceRate, 628 / 687);
        // A view not read before is answered too, from the last copy of gold, marked stale.
        const trends = await getJson(`${fresh.url}api/trends`);
        assert.equal(trends.status, 200);
        assert.equal(trends.body.stale, true);
        assert.deepEqual(
          trends.body.daily
            .filter((p: { area: string }) => p.area === 'New York City')
            .map((p: { period: string }) => p.period),
          [FIXTURE_EARLIER, FIXTURE_LATEST],
        );
      } finally {
        await writer.release();
      }
      const after = await getJson(`${fresh.url}api/now`);
      assert.equal(after.status, 200);
      assert.equal(after.body.stale, false);
    } finally {
      await fresh.close();
    }
  });
});

test('the copy of gold the dashboard reads leaves no file behind, even before it closes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'medallion-serve-copy-'));
  const scratch = join(dir, 'tmp');
  await mkdir(scratch);
  const project = loadProject({ dataDir: dir });
  await buildGoldFixture(project.paths.warehouse);
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = scratch;
  const dashboard = await startDashboard({ project, port: 0, cacheSize: 0 });
  try {
    const res = await getJson(`${dashboard.url}api/now`);
    assert.equal(res.status, 200);
    assert.equal(res.body.citywide.attendanceRate, 628 / 687);
    // The copy was written under TMPDIR and deleted at once; the open connection still reads it.
    assert.deepEqual(await readdir(scratch), []);
    const again = await getJson(`${dashboard.url}api/trends`);
    assert.equal(again.status, 200);
    assert.deepEqual(await readdir(scratch), []);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    await dashboard.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a writer that retries its open (as the pipeline does) gets in while the dashboard is busy reading', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'medallion-serve-busy-'));
  const project = loadProject({ dataDir: dir });
  await buildGoldFixture(project.paths.warehouse);
  const dashboard = await startDashboard({ project, port: 0, cacheSize: 0 });
  let stop = false;
  const reads = (async () => {
    let n = 0;
    while (!stop) {
      const res = await fetch(`${dashboard.url}api/trends?from=${n % 2 ? FIXTURE_EARLIER : FIXTURE_LATEST}`);
      await res.arrayBuffer();
      assert.ok(res.status === 200 || res.status === 503, `status ${res.status}`);
      n++;
    }
    return n;
  })();
  try {
    await new Promise((r) => setTimeout(r, 300));
    const script = `
      import { DuckDbWarehouse } from ${JSON.stringify(fileURLToPath(new URL('../../../src/warehouse/duckdb/duckdb-warehouse.ts', import.meta.url)))};
      const wh = await DuckDbWarehouse.openWithRetry(${JSON.stringify(project.paths.warehouse)});
      await wh.exec('CREATE OR REPLACE TABLE main.writer_got_in AS SELECT 1 AS x');
      await wh.close();
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
  } finally {
    stop = true;
    assert.ok((await reads) > 3);
    await dashboard.close();
    await rm(dir, { recursive: true, force: true });
  }
});

describe('dashboard before gold exists', () => {
  let dir: string;
  let dashboard: Dashboard;
  let project: PipelineProject;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medallion-serve-empty-'));
    project = loadProject({ dataDir: dir });
    dashboard = await startDashboard({ project, port: 0 });
  });

  after(async () => {
    await dashboard?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('503 with a clear JSON error when the warehouse file is missing; the page still loads', async () => {
    const res = await getJson(`${dashboard.url}api/now`);
    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, 'MDL_NOTHING_TO_SERVE');
    assert.match(res.body.error.message, /Gold does not exist yet/);
    assert.match(res.body.error.hint, /medallion run --once/);
    assert.equal((await getJson(`${dashboard.url}api/dates`)).status, 503);
    assert.deepEqual((await getJson(`${dashboard.url}api/health`)).body, { status: 'ok', gold: 'missing' });
    const page = await fetch(dashboard.url);
    assert.equal(page.status, 200);
    await page.text();
  });

  test('503 naming the missing tables when the warehouse has no gold yet', async () => {
    const other = join(dir, 'loaded-not-built.duckdb');
    const db = await openDuckDb(other);
    await db.exec('CREATE SCHEMA silver; CREATE TABLE silver.attendance_events (x INTEGER)');
    await db.close();
    const partial = await startDashboard({ project, port: 0, warehousePath: other });
    try {
      const res = await getJson(`${partial.url}api/now`);
      assert.equal(res.status, 503);
      assert.equal(res.body.error.code, 'MDL_NOTHING_TO_SERVE');
      assert.match(res.body.error.message, /gold\.fact_event_metrics/);
    } finally {
      await partial.close();
    }
  });

  test('gold built with no events yet: 200 with no day and empty figures', async () => {
    const other = join(dir, 'empty-gold.duckdb');
    await buildGoldFixture(other);
    const db = await openDuckDb(other);
    await db.exec('DELETE FROM gold.fact_event_metrics; DELETE FROM gold.fact_equity_metrics');
    await db.close();
    const empty = await startDashboard({ project, port: 0, warehousePath: other });
    try {
      const res = await getJson(`${empty.url}api/now`);
      assert.equal(res.status, 200);
      assert.equal(res.body.date, null);
      assert.equal(res.body.streamedDays, 0);
      assert.equal(res.body.citywide, null);
      assert.deepEqual(res.body.boroughs, []);
      assert.deepEqual(res.body.equity, []);
    } finally {
      await empty.close();
    }
  });
});
