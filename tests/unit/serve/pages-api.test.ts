import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadProject, type PipelineProject } from '../../../src/config/project.ts';
import { openDuckDb, type Row } from '../../../src/engine/duckdb.ts';
import { type Dashboard, startDashboard } from '../../../src/serve/dashboard.ts';
import { buildGoldFixture, FIXTURE_EARLIER, FIXTURE_LATEST } from './gold-fixture.ts';

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

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: Json }> {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: await res.json() };
}

function numbersIn(value: unknown): number[] {
  if (typeof value === 'number') return [value];
  if (Array.isArray(value)) return value.flatMap(numbersIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(numbersIn);
  return [];
}

/** SQL fragments and scripts tried in every parameter. */
const ATTACKS = [
  "' OR 1=1 --",
  '1; DROP TABLE gold.dim_school; --',
  "X' UNION SELECT * FROM gold.dim_school --",
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  '1)) OR ((1=1',
  '{{7*7}}',
];

describe('dashboard pages API over a gold fixture', () => {
  let dir: string;
  let project: PipelineProject;
  let warehouse: string;
  let dashboard: Dashboard;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medallion-serve-pages-'));
    project = loadProject({ dataDir: dir });
    warehouse = project.paths.warehouse;
    await buildGoldFixture(warehouse);
    dashboard = await startDashboard({ project, port: 0, watchIntervalMs: 100 });
  });

  after(async () => {
    await dashboard?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('/api/equity: quintile, borough and district attendance equal SQL on gold; small groups are s', async () => {
    const { status, body } = await getJson(`${dashboard.url}api/equity`);
    assert.equal(status, 200);
    const expected = await sql<{ q: string; rate: number; students: number; official: number }>(
      warehouse,
      `WITH per AS (SELECT dbn, max(enrolled) AS m, sum(enrolled) AS e, sum(present + late) AS a
                    FROM gold.fact_event_metrics GROUP BY dbn)
       SELECT coalesce('Q' || d.eni_quintile, 'unknown') AS q, sum(a)::DOUBLE / sum(e) AS rate,
              sum(m)::INTEGER AS students,
              sum(d.official_days_present)::DOUBLE / sum(d.official_total_days) AS official
       FROM per JOIN gold.dim_school d USING (dbn) GROUP BY 1 ORDER BY 1`,
    );
    assert.deepEqual(
      body.quintiles.map((q: Json) => q.group),
      expected.map((e) => e.q),
    );
    for (const e of expected) {
      const q = body.quintiles.find((r: Json) => r.group === e.q);
      assert.equal(q.attendanceRate, e.students < 10 ? 's' : e.rate, e.q);
      assert.equal(q.students, e.students < 10 ? 's' : e.students, e.q);
    }
    const q1 = body.quintiles.find((r: Json) => r.group === 'Q1');
    const q5 = body.quintiles.find((r: Json) => r.group === 'Q5');
    assert.equal(q1.officialAttendanceRate, 0.95);
    assert.equal(body.gap.attendanceRate, q5.attendanceRate - q1.attendanceRate);
    assert.equal(body.gap.officialChronicAbsenceRate, 0.34 - 0.1);
    assert.equal(q1.streamingChronicAbsenceRate, 0.1, 'from fact_equity_metrics when unfiltered');
    const unknown = body.quintiles.find((r: Json) => r.group === 'unknown');
    assert.equal(unknown.officialAttendanceRate, 's', '8 official students');
    const si = body.boroughs.find((b: Json) => b.group === 'Staten Island');
    assert.deepEqual([si.students, si.attendanceRate, si.shareEll], ['s', 's', 's']);
    assert.deepEqual(
      body.districts.map((d: Json) => d.group),
      ['01', '02', '07', '13', '24', '31', '84'],
    );
    assert.equal(body.city.schools, 7);
    assert.equal(body.filtered, false);
    assert.ok(!numbersIn(body).includes(6 / 7) && !numbersIn(body).includes(13 / 14));
  });

  test('/api/equity: filters select schools and days; the map carries the chosen metric, suppressed', async () => {
    const bronx = (await getJson(`${dashboard.url}api/equity?borough=X&from=${FIXTURE_LATEST}`)).body;
    assert.equal(bronx.filtered, true);
    const [expected] = await sql<{ rate: number; schools: number }>(
      warehouse,
      `SELECT sum(present + late)::DOUBLE / sum(enrolled) AS rate, count(DISTINCT dbn)::INTEGER AS schools
       FROM gold.fact_event_metrics JOIN gold.dim_school USING (dbn)
       WHERE borough_code = 'X' AND event_date >= ?::DATE`,
      [FIXTURE_LATEST],
    );
    assert.equal(bronx.city.attendanceRate, expected!.rate);
    assert.equal(bronx.city.schools, 2);
    assert.equal(bronx.city.streamingChronicAbsenceRate, null, 'per-student figure not available filtered');
    assert.deepEqual(
      bronx.boroughs.map((b: Json) => b.group),
      ['Bronx'],
    );
    const district = (await getJson(`${dashboard.url}api/equity?district=7&to=${FIXTURE_EARLIER}`)).body;
    assert.equal(district.city.attendanceRate, 126 / 150);

    const map = (await getJson(`${dashboard.url}api/equity?metric=ell`)).body;
    assert.equal(map.metric, 'ell');
    const byDbn = Object.fromEntries(map.schools.map((s: Json) => [s.dbn, s]));
    assert.equal(byDbn['13K010'].value, 0.13);
    assert.equal(byDbn['13K010'].latitude, 40.663);
    assert.equal(byDbn['31R030'].value, 's', 'enrollment 9');
    assert.equal(byDbn['84X099'].value, null);
    assert.ok(byDbn['15K999'], 'schools without events are on the map for demographic metrics');
    const attendance = (await getJson(`${dashboard.url}api/equity`)).body;
    assert.equal(
      attendance.schools.find((s: Json) => s.dbn === '31R030').value,
      's',
      '7 students: the school rate is suppressed',
    );
    assert.ok(!attendance.schools.some((s: Json) => s.dbn === '15K999'), 'no stream, no streaming attendance');
  });

  test('/api/schools: search by name or DBN within the filters', async () => {
    const all = (await getJson(`${dashboard.url}api/schools`)).body;
    assert.equal(all.total, 8);
    assert.deepEqual(
      all.schools.map((s: Json) => s.dbn),
      ['01M015', '02M020', '07X005', '13K010', '15K999', '24Q020', '31R030', '84X099'],
    );
    const hit = (await getJson(`${dashboard.url}api/schools?q=clemente`)).body;
    assert.deepEqual(
      hit.schools.map((s: Json) => s.dbn),
      ['01M015'],
    );
    assert.equal(hit.schools[0].attendanceRate, (100 + 5 + 108 + 4) / (118 + 120));
    const byDbn = (await getJson(`${dashboard.url}api/schools?q=07x`)).body;
    assert.deepEqual(
      byDbn.schools.map((s: Json) => s.dbn),
      ['07X005'],
    );
    const brooklyn = (await getJson(`${dashboard.url}api/schools?borough=K&q=School`)).body;
    assert.deepEqual(
      brooklyn.schools.map((s: Json) => s.dbn),
      ['13K010', '15K999'],
    );
    const apostrophe = await getJson(`${dashboard.url}api/schools?q=${encodeURIComponent("O'Brien")}`);
    assert.equal(apostrophe.status, 200);
    assert.equal(apostrophe.body.total, 0);
  });

  test('/api/school: attributes, daily trend, SCD2 history; unknown DBN 404, bad DBN 400', async () => {
    const { status, body } = await getJson(`${dashboard.url}api/school?dbn=01M015`);
    assert.equal(status, 200);
    assert.equal(body.school.name, 'P.S. 015 Roberto Clemente');
    assert.equal(body.school.shareTemporaryHousing, 0.03);
    assert.equal(body.school.officialAttendanceRate, 0.95);
    assert.deepEqual(
      body.daily.map((d: Json) => [d.date, d.students, d.attendanceRate]),
      [
        [FIXTURE_EARLIER, 118, 105 / 118],
        [FIXTURE_LATEST, 120, 112 / 120],
      ],
    );
    assert.deepEqual(
      body.history.map((h: Json) => [h.name, h.validFrom, h.validTo]),
      [
        ['P.S. 015 Roberto Clemente', '2020-07-01T00:00:00', null],
        ['P.S. 015 Roberto Clemente School', '2019-07-01T00:00:00', '2020-07-01T00:00:00'],
      ],
    );
    const small = (await getJson(`${dashboard.url}api/school?dbn=31R030&from=${FIXTURE_LATEST}`)).body;
    assert.deepEqual(small.daily, [
      {
        date: FIXTURE_LATEST,
        students: 's',
        present: 's',
        late: 's',
        absent: 's',
        excused: 's',
        attendanceRate: 's',
      },
    ]);
    assert.equal(small.school.enrollment, 's');
    assert.equal(small.school.shareEll, 's');
    assert.equal(small.school.officialAttendanceRate, 0.93, '12 official students');
    assert.equal((await getJson(`${dashboard.url}api/school?dbn=99X999`)).status, 404);
    assert.equal((await getJson(`${dashboard.url}api/school?dbn=01M01`)).status, 400);
    assert.equal((await getJson(`${dashboard.url}api/school`)).status, 400);
  });

  test('/api/compare: streaming against official per school and district, ranked by the difference', async () => {
    const { body } = await getJson(`${dashboard.url}api/compare`);
    assert.equal(body.days, 2);
    const school = body.schools.find((s: Json) => s.key === '07X005');
    assert.equal(school.streamingAttendanceRate, (126 + 130) / 300);
    assert.equal(school.officialAttendanceRate, 62640 / 72000);
    assert.equal(school.difference, (126 + 130) / 300 - 62640 / 72000);
    const ranked = body.schools.filter((s: Json) => s.difference !== null).map((s: Json) => Math.abs(s.difference));
    assert.deepEqual(
      ranked,
      [...ranked].sort((a, b) => b - a),
    );
    assert.equal(body.schools.at(-1).key, '31R030', 'suppressed rows last');
    assert.equal(body.schools.at(-1).difference, null);
    const d84 = body.districts.find((d: Json) => d.key === '84');
    assert.equal(d84.officialAttendanceRate, 's');
    assert.equal(body.summary.compared, 5);
    const filtered = (await getJson(`${dashboard.url}api/compare?borough=M`)).body;
    assert.deepEqual(filtered.schools.map((s: Json) => s.key).sort(), ['01M015', '02M020']);
  });

  test("date ranges: whole weeks (read from fact_school_week) and edge days give the school-days' figures", async () => {
    // Whole week 2018-10-01..07 (both days from the weekly mart), edge days only (from/to inside the
    // week), a whole week plus an empty one, and one borough.
    const ranges = [
      `from=${FIXTURE_EARLIER}&to=2018-10-07`,
      `from=${FIXTURE_LATEST}`,
      `to=${FIXTURE_EARLIER}`,
      'from=2018-09-24&to=2018-10-07',
      `borough=X&from=${FIXTURE_LATEST}&to=2018-10-07`,
    ];
    for (const range of ranges) {
      const params = new URLSearchParams(range);
      const expected = await sql<{ dbn: string; students: number; rate: number }>(
        warehouse,
        `SELECT dbn, max(enrolled)::BIGINT AS students, sum(present + late)::DOUBLE / sum(enrolled) AS rate
         FROM gold.fact_event_metrics
         WHERE ($1::DATE IS NULL OR event_date >= $1::DATE) AND ($2::DATE IS NULL OR event_date <= $2::DATE)
           AND ($3::VARCHAR IS NULL OR substr(dbn, 3, 1) = $3::VARCHAR)
         GROUP BY dbn HAVING max(enrolled) >= 10 ORDER BY dbn`,
        [params.get('from'), params.get('to'), params.get('borough')],
      );
      assert.ok(expected.length > 0, range);
      const figures = (rows: Json[], key: string) =>
        rows
          .filter((r: Json) => typeof r.students === 'number')
          .map((r: Json) => [r[key], r.students, r.streamingAttendanceRate ?? r.attendanceRate])
          .sort((a: Json[], b: Json[]) => String(a[0]).localeCompare(String(b[0])));
      const want = expected.map((e) => [e.dbn, e.students, e.rate]);
      const compare = (await getJson(`${dashboard.url}api/compare?${range}`)).body;
      assert.deepEqual(figures(compare.schools, 'key'), want, `compare ${range}`);
      const schools = (await getJson(`${dashboard.url}api/schools?${range}`)).body;
      assert.deepEqual(
        schools.schools
          .filter((r: Json) => typeof r.attendanceRate === 'number')
          .map((r: Json) => [r.dbn, r.attendanceRate]),
        expected.map((e) => [e.dbn, e.rate]),
        `schools ${range}`,
      );
      const equity = (await getJson(`${dashboard.url}api/equity?${range}`)).body;
      const mapped = equity.schools
        .filter((m: Json) => typeof m.value === 'number')
        .map((m: Json) => [m.dbn, m.value])
        .sort((a: Json[], b: Json[]) => String(a[0]).localeCompare(String(b[0])));
      assert.deepEqual(
        mapped,
        expected.map((e) => [e.dbn, e.rate]),
        `equity ${range}`,
      );
      const [days] = await sql<{ n: number }>(
        warehouse,
        `SELECT count(DISTINCT event_date)::BIGINT AS n FROM gold.fact_event_metrics
         WHERE ($1::DATE IS NULL OR event_date >= $1::DATE) AND ($2::DATE IS NULL OR event_date <= $2::DATE)
           AND ($3::VARCHAR IS NULL OR substr(dbn, 3, 1) = $3::VARCHAR)`,
        [params.get('from'), params.get('to'), params.get('borough')],
      );
      assert.equal(compare.days, days!.n, `compare days ${range}`);
    }
  });

  test('/api/trends: daily and weekly attendance, citywide and by borough', async () => {
    const { body } = await getJson(`${dashboard.url}api/trends`);
    const days = await sql<{ day: string; rate: number }>(
      warehouse,
      `SELECT strftime(event_date, '%Y-%m-%d') AS day, sum(present + late)::DOUBLE / sum(enrolled) AS rate
       FROM gold.fact_event_metrics GROUP BY 1 ORDER BY 1`,
    );
    const city = body.daily.filter((p: Json) => p.area === 'New York City');
    assert.deepEqual(
      city.map((p: Json) => [p.period, p.attendanceRate]),
      days.map((d) => [d.day, d.rate]),
    );
    assert.deepEqual(body.areas, ['New York City', 'Bronx', 'Brooklyn', 'Manhattan', 'Queens', 'Staten Island']);
    const si = body.daily.filter((p: Json) => p.area === 'Staten Island');
    assert.ok(si.every((p: Json) => p.attendanceRate === 's'));
    const week = body.weekly.filter((p: Json) => p.area === 'New York City');
    assert.equal(week.length, 1);
    assert.equal(week[0].period, '2018-10-01');
    const [all] = await sql<{ rate: number }>(
      warehouse,
      'SELECT sum(present + late)::DOUBLE / sum(enrolled) AS rate FROM gold.fact_event_metrics',
    );
    assert.equal(week[0].attendanceRate, all!.rate);
  });

  test('/api/pipeline: run log, lineage from manifest.json and test results from run_results.json', async () => {
    await mkdir(project.paths.goldTarget, { recursive: true });
    await writeFile(
      join(project.paths.goldTarget, 'manifest.json'),
      JSON.stringify({
        sources: { 'source.p.silver.events': { name: 'events', source_name: 'silver' } },
        nodes: {
          'model.p.stg_events': { resource_type: 'model', name: 'stg_events', fqn: ['p', 'staging', 'stg_events'] },
          'model.p.fact': { resource_type: 'model', name: 'fact', fqn: ['p', 'marts', 'fact'] },
          'test.p.not_null_fact_dbn': { resource_type: 'test', name: 'not_null_fact_dbn' },
        },
        parent_map: {
          'model.p.stg_events': ['source.p.silver.events'],
          'model.p.fact': ['model.p.stg_events'],
          'test.p.not_null_fact_dbn': ['model.p.fact'],
        },
      }),
    );
    await writeFile(
      join(project.paths.goldTarget, 'run_results.json'),
      JSON.stringify({
        metadata: { generated_at: '2026-01-01T00:00:00.000Z' },
        results: [
          { unique_id: 'model.p.fact', status: 'success' },
          { unique_id: 'test.p.not_null_fact_dbn', status: 'pass', failures: 0 },
        ],
      }),
    );
    const { status, body } = await getJson(`${dashboard.url}api/pipeline`);
    assert.equal(status, 200);
    assert.deepEqual(
      body.lineage.nodes.map((n: Json) => [n.name, n.kind, n.depth]),
      [
        ['bronze.events', 'bronze', 0],
        ['silver.events', 'source', 1],
        ['stg_events', 'staging', 2],
        ['fact', 'mart', 3],
      ],
    );
    assert.equal(body.lineage.edges.length, 3);
    assert.deepEqual(body.tests.results, [{ name: 'not_null_fact_dbn', status: 'pass', failures: 0 }]);
    assert.equal(body.tests.pass, 1);
    assert.deepEqual(body.layers, { bronze: 0, silver: 0, quarantine: 0, duplicates: 0, late: 0 });
    const gold = Object.fromEntries(body.gold.map((g: Json) => [g.table, g.rows]));
    assert.equal(gold.fact_event_metrics, 13);
    assert.equal(gold.dim_school, 8);
  });

  test('/api/events pushes a "gold" event when a new build lands', async () => {
    const controller = new AbortController();
    const res = await fetch(`${dashboard.url}api/events`, { signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const until = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${pattern}: ${text}`);
        text += decoder.decode(value);
      }
    };
    await until(/event: hello/);
    await new Promise((r) => setTimeout(r, 300));
    await mkdir(project.paths.goldTarget, { recursive: true });
    await writeFile(
      join(project.paths.goldTarget, 'run_results.json'),
      JSON.stringify({ metadata: { generated_at: new Date().toISOString() }, results: [] }),
    );
    await until(/event: gold\ndata: \{"version":\d+\}/);
    controller.abort();
  });

  test('/api/now adds events per minute and freshness from the run log', async () => {
    const now = Date.now();
    await mkdir(project.paths.runLog, { recursive: true });
    const entry = (startedAt: number, finishedAt: number, records: number) =>
      JSON.stringify({
        runId: String(startedAt),
        job: 'refine',
        startedAt: new Date(startedAt).toISOString(),
        finishedAt: new Date(finishedAt).toISOString(),
        status: 'success',
        durationMs: finishedAt - startedAt,
        counts: { records },
        version: '0.1.0',
      });
    await writeFile(
      join(project.paths.runLog, 'runs.jsonl'),
      `${entry(now - 120_000, now - 119_000, 3000)}\n${entry(now - 60_000, now - 59_000, 2000)}\n`,
    );
    await writeFile(
      join(project.paths.goldTarget, 'run_results.json'),
      JSON.stringify({ metadata: { generated_at: new Date(now - 57_500).toISOString() }, results: [] }),
    );
    const { body } = await getJson(`${dashboard.url}api/now`);
    assert.equal(body.pipeline.eventsPerMinute, 500);
    assert.equal(body.pipeline.lastBatch.records, 2000);
    assert.equal(body.pipeline.pending, false);
    assert.equal(body.pipeline.lagSeconds, 2.5);
    assert.equal(body.newestEventTime, `${FIXTURE_LATEST}T09:00:00`);
  });

  test('every parameter of every endpoint refuses SQL fragments and scripts with a 400, changing nothing', async () => {
    const [before] = await sql<{ n: number }>(warehouse, 'SELECT count(*)::INTEGER AS n FROM gold.dim_school');
    const endpoints: Record<string, string[]> = {
      'api/now': ['date'],
      'api/equity': ['borough', 'district', 'from', 'to', 'metric'],
      'api/schools': ['borough', 'district', 'q'],
      'api/school': ['dbn', 'from', 'to'],
      'api/compare': ['borough', 'district', 'from', 'to'],
      'api/trends': ['borough', 'district', 'from', 'to'],
      'api/pipeline': ['anything'],
      'api/dates': ['anything'],
    };
    for (const [endpoint, params] of Object.entries(endpoints)) {
      for (const param of params) {
        for (const attack of ATTACKS) {
          const extra = endpoint === 'api/school' && param !== 'dbn' ? 'dbn=01M015&' : '';
          const res = await getJson(`${dashboard.url}${endpoint}?${extra}${param}=${encodeURIComponent(attack)}`);
          assert.equal(res.status, 400, `${endpoint} ${param}=${attack}`);
          assert.equal(res.body.error.code, 'MDL_USAGE');
        }
      }
    }
    const reversed = await getJson(`${dashboard.url}api/trends?from=${FIXTURE_LATEST}&to=${FIXTURE_EARLIER}`);
    assert.equal(reversed.status, 400);
    assert.equal((await getJson(`${dashboard.url}api/equity?district=33`)).status, 400);
    assert.equal((await getJson(`${dashboard.url}api/equity?borough=Z`)).status, 400);
    const [after] = await sql<{ n: number }>(warehouse, 'SELECT count(*)::INTEGER AS n FROM gold.dim_school');
    assert.equal(after!.n, before!.n);
  });

  test('every page path serves the page shell; other paths do not', async () => {
    for (const path of ['equity', 'schools', 'school', 'compare', 'trends', 'pipeline']) {
      const res = await fetch(`${dashboard.url}${path}`);
      assert.equal(res.status, 200, path);
      const html = await res.text();
      assert.match(html, /<script src="\/static\/app\.js" type="module"><\/script>/);
      assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=|https?:\/\/(?!www\.w3\.org)/i);
    }
    assert.equal((await fetch(`${dashboard.url}page.html`)).status, 404);
    assert.equal((await fetch(`${dashboard.url}equity/x`)).status, 404);
  });
});

describe('dashboard with an access token', () => {
  let dir: string;
  let dashboard: Dashboard;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medallion-serve-token-'));
    const project = loadProject({ dataDir: dir });
    await buildGoldFixture(project.paths.warehouse);
    dashboard = await startDashboard({ project, port: 0, token: 's3cret-token' });
  });

  after(async () => {
    await dashboard?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('every request needs the token: bearer header, or the cookie set by /?token=', async () => {
    const none = await getJson(`${dashboard.url}api/now`);
    assert.equal(none.status, 401);
    assert.equal((await fetch(dashboard.url)).status, 401);
    assert.equal((await fetch(`${dashboard.url}static/app.js`)).status, 401);
    const wrong = await fetch(`${dashboard.url}api/now`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    await wrong.arrayBuffer();
    const bearer = await getJson(`${dashboard.url}api/now`, { headers: { authorization: 'Bearer s3cret-token' } });
    assert.equal(bearer.status, 200);
    assert.equal(bearer.body.date, FIXTURE_LATEST);

    const visit = await fetch(`${dashboard.url}equity?borough=X&token=s3cret-token`, { redirect: 'manual' });
    assert.equal(visit.status, 303);
    assert.equal(visit.headers.get('location'), '/equity?borough=X');
    const cookie = visit.headers.get('set-cookie') ?? '';
    assert.match(cookie, /medallion_token=s3cret-token/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const withCookie = await getJson(`${dashboard.url}api/equity`, {
      headers: { cookie: cookie.split(';')[0]! },
    });
    assert.equal(withCookie.status, 200);
    const badVisit = await fetch(`${dashboard.url}?token=guess`, { redirect: 'manual' });
    assert.equal(badVisit.status, 401);
    await badVisit.arrayBuffer();
  });
});
