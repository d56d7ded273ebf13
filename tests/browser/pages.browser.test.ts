import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { loadProject, REPO_ROOT } from '../../src/config/project.ts';
import type { Row } from '../../src/engine/duckdb.ts';
import { type Dashboard, startDashboard } from '../../src/serve/dashboard.ts';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.ts';
import { medallion } from '../helpers/cli.ts';
import { tempProject } from '../helpers/temp-project.ts';

/** Debian's Chromium by default; MEDALLION_CHROMIUM points elsewhere (e.g. a CI runner's Chrome). */
const CHROMIUM = process.env.MEDALLION_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const TRIGGER_MS = 1000;

/** The same formatting the pages use (src/serve/static/common.js). */
const pct = new Intl.NumberFormat('en-US', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });
const int = new Intl.NumberFormat('en-US');

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await read();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

/** Independent SQL on gold, read-only, retried while the pipeline writes. */
async function gold<T extends Row>(warehouse: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const wh = await DuckDbWarehouse.openWithRetry(warehouse, { readOnly: true, attempts: 100, delayMs: 100 });
  try {
    return await wh.query<T>(sql, params);
  } finally {
    await wh.close();
  }
}

async function builtAt(goldTarget: string): Promise<string | null> {
  try {
    const r = JSON.parse(await readFile(join(goldTarget, 'run_results.json'), 'utf8')) as {
      metadata?: { generated_at?: string };
    };
    return r.metadata?.generated_at ?? null;
  } catch {
    return null;
  }
}

/** Waits for a page of app.js to finish its n-th render. */
async function rendered(page: Page, n = 1): Promise<void> {
  await page.waitForFunction((k) => Number(document.body.dataset['ready'] ?? 0) >= k, n);
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function phone(page: Page, name: string): Promise<void> {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.evaluate(() => new Promise((r) => setTimeout(r, 150)));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${name}: no horizontal scrolling at phone width (overflow ${overflow}px)`);
  await shoot(page, `${name}-phone`);
  await page.setViewportSize({ width: 1280, height: 900 });
}

test('every page shows gold figures in Chromium; filters live in the URL; Now updates live', {
  timeout: 300_000,
}, async (t) => {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI) throw new Error(`${CHROMIUM} is missing in CI: install Debian's chromium package.`);
    const msg = `SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium), browser test not run`;
    process.stderr.write(`\n*** ${msg} ***\n\n`);
    t.skip(msg);
    return;
  }
  await mkdir(ARTIFACTS, { recursive: true });
  const p = await tempProject((c) => {
    c['run'] = { triggerIntervalMs: TRIGGER_MS };
  });
  const env = { MEDALLION_HOME: p.home };
  const args = ['--project', p.dir];
  const project = loadProject({ projectDir: p.dir, dataDir: p.home });
  const warehouse = project.paths.warehouse;
  let runner: ChildProcess | undefined;
  let dashboard: Dashboard | undefined;
  let context: BrowserContext | undefined;
  try {
    const sim = await medallion(
      ['simulate', ...args, '--days', '2', '--sample', '0.05', '--seed', '7', '--faults', 'default', '--json'],
      env,
    );
    assert.equal(sim.code, 0, sim.stderr);
    const truth = JSON.parse(sim.stdout) as { records: number };
    runner = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'medallion.js'), 'run', ...args], {
      env: { ...process.env, ...env, MEDALLION_QUIET: '1' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const firstBuild = await until(
      'the first gold build',
      () => builtAt(project.paths.goldTarget),
      (b) => b !== null,
    );
    dashboard = await startDashboard({ project, port: 0, watchIntervalMs: 200 });
    const base = dashboard.url.replace(/\/$/, '');
    context = await chromium.launchPersistentContext(join(p.dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
      deviceScaleFactor: 1,
      acceptDownloads: true,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const problems: string[] = [];
    let expectErrors = false;
    page.on('console', (m) => {
      if (!expectErrors && (m.type() === 'error' || m.type() === 'warning'))
        problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('response', (r) => {
      if (!expectErrors && r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });

    await t.test('Now: citywide attendance, schools and students of the latest day equal gold', async () => {
      const [e] = await gold<{ rate: number; schools: number; students: number; day: string }>(
        warehouse,
        `SELECT sum(present + late)::DOUBLE / sum(enrolled) AS rate, count(DISTINCT dbn)::INTEGER AS schools,
                sum(enrolled)::INTEGER AS students, strftime(max(event_date), '%Y-%m-%d') AS day
         FROM gold.fact_event_metrics WHERE event_date = (SELECT max(event_date) FROM gold.fact_event_metrics)`,
      );
      await page.goto(`${base}/`);
      await page.waitForFunction(() => document.getElementById('kpi-rate')?.textContent !== '—');
      assert.equal(e!.day, '2018-10-02');
      assert.equal(await page.locator('#kpi-rate').textContent(), pct.format(e!.rate));
      assert.equal(await page.locator('#kpi-schools').textContent(), int.format(e!.schools));
      assert.equal(await page.locator('#kpi-students').textContent(), int.format(e!.students));
      assert.notEqual(await page.locator('#kpi-lag').textContent(), '—');
      await shoot(page, 'page-now');
    });

    await t.test('Equity: figures equal gold; filters change them, live in the URL and survive a reload', async () => {
      const all = await gold<{ rate: number; q1: number; q5: number }>(
        warehouse,
        `WITH per AS (SELECT dbn, sum(enrolled) AS e, sum(present + late) AS a FROM gold.fact_event_metrics GROUP BY dbn)
         SELECT sum(a)::DOUBLE / sum(e) AS rate,
                sum(a) FILTER (WHERE eni_quintile = 1)::DOUBLE / sum(e) FILTER (WHERE eni_quintile = 1) AS q1,
                sum(a) FILTER (WHERE eni_quintile = 5)::DOUBLE / sum(e) FILTER (WHERE eni_quintile = 5) AS q5
         FROM per JOIN gold.dim_school USING (dbn)`,
      );
      await page.goto(`${base}/equity`);
      await rendered(page);
      assert.equal(await page.title(), 'Equity · NYC school attendance · Medallion');
      assert.equal(await page.locator('#kpi-attendance').textContent(), pct.format(all[0]!.rate));
      const q1 = page.locator('#equity-quintiles tbody tr', { hasText: 'Q1 · lowest need' });
      assert.equal(await q1.locator('td').nth(2).textContent(), pct.format(all[0]!.q1));
      const gap = (all[0]!.q5 - all[0]!.q1) * 100;
      assert.equal(
        await page.locator('#kpi-gap').textContent(),
        `${gap > 0 ? '+' : '−'}${Math.abs(gap).toFixed(1)} pts`,
      );
      const dots = await page.locator('#equity-map-svg circle').count();
      assert.ok(dots > 1000, `the map draws the schools (${dots})`);
      await shoot(page, 'page-equity');

      const [bronx] = await gold<{ rate: number }>(
        warehouse,
        `SELECT sum(present + late)::DOUBLE / sum(enrolled) AS rate
         FROM gold.fact_event_metrics JOIN gold.dim_school USING (dbn)
         WHERE borough_code = 'X' AND event_date = DATE '2018-10-02'`,
      );
      await page.selectOption('#f-borough', 'X');
      await rendered(page, 2);
      await page.fill('#f-from', '2018-10-02');
      await page.locator('#f-from').dispatchEvent('change');
      await page.waitForFunction(() => location.search.includes('from=2018-10-02'));
      await rendered(page, 3);
      assert.equal(new URL(page.url()).search, '?borough=X&from=2018-10-02');
      assert.equal(await page.locator('#kpi-attendance').textContent(), pct.format(bronx!.rate));
      await page.selectOption('#f-metric', 'temporary_housing');
      // Wait for the outcome, not a render count: while the pipeline writes, a stale answer's retry
      // (or a live update) renders the page once more at any moment.
      await page.waitForFunction(() =>
        /temporary housing/.test(document.querySelector('#equity-map-title')?.textContent ?? ''),
      );
      assert.match(page.url(), /metric=temporary_housing/);
      assert.match((await page.locator('#equity-map-title').textContent()) ?? '', /temporary housing/);
      await page.reload();
      await rendered(page);
      assert.equal(await page.locator('#f-borough').inputValue(), 'X');
      assert.equal(await page.locator('#f-from').inputValue(), '2018-10-02');
      assert.equal(await page.locator('#kpi-attendance').textContent(), pct.format(bronx!.rate));
      await shoot(page, 'page-equity-filtered');

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('#equity-quintiles button.csv').click(),
      ]);
      assert.equal(download.suggestedFilename(), 'equity-quintiles_bronx_2018-10-02-to-latest.csv');
      const csv = await readFile((await download.path())!, 'utf8');
      assert.match(csv, /^group,schools,students,attendanceRate,officialAttendanceRate,/);
      assert.match(csv, /\r\nQ1,\d+,/);
    });

    await t.test('Schools: the table lists gold.dim_school; a school page shows its trend and history', async () => {
      const [n] = await gold<{ n: number }>(warehouse, 'SELECT count(*)::INTEGER AS n FROM gold.dim_school');
      await page.goto(`${base}/schools`);
      await rendered(page);
      assert.equal(await page.locator('#schools-table-title').textContent(), `${int.format(n!.n)} schools`);
      await page.fill('#f-q', 'port morris');
      await page.waitForFunction(() => location.search === '?q=port+morris');
      await rendered(page, 2);
      const rows = await page.locator('#schools-table tbody tr').count();
      assert.ok(rows >= 1);
      await shoot(page, 'page-schools');
      const [school] = await gold<{ dbn: string; rate: number }>(
        warehouse,
        `SELECT dbn, sum(present + late)::DOUBLE / sum(enrolled) AS rate FROM gold.fact_event_metrics
         GROUP BY dbn HAVING min(enrolled) >= 10 ORDER BY sum(enrolled) DESC, dbn LIMIT 1`,
      );
      await page.goto(`${base}/schools?q=${school!.dbn}`);
      await rendered(page);
      await page.locator(`a[href="/school?dbn=${school!.dbn}"]`).first().click();
      await page.waitForURL(`${base}/school?dbn=${school!.dbn}`);
      await rendered(page);
      assert.equal(await page.locator('#kpi-attendance').textContent(), pct.format(school!.rate));
      assert.equal(await page.locator('#school-history tbody tr').count(), 1);
      assert.equal(await page.locator('nav a[aria-current="page"]').textContent(), 'Schools');
      await shoot(page, 'page-school');
    });

    await t.test('Streaming vs batch: schools compared and the district ranking equal gold', async () => {
      const [e] = await gold<{ n: number }>(
        warehouse,
        `WITH per AS (SELECT dbn, max(enrolled) AS m FROM gold.fact_event_metrics GROUP BY dbn)
         SELECT count(*)::INTEGER AS n FROM per JOIN gold.dim_school USING (dbn)
         WHERE m >= 10 AND official_students_contributing >= 10 AND official_total_days > 0`,
      );
      await page.goto(`${base}/compare`);
      await rendered(page);
      assert.equal(await page.locator('#kpi-compared').textContent(), int.format(e!.n));
      await shoot(page, 'page-compare');
      await page.goto(`${base}/compare?district=7`);
      await rendered(page);
      assert.equal(await page.locator('#f-district').inputValue(), '7');
      assert.equal(await page.locator('#compare-districts tbody tr').count(), 1);
    });

    await t.test('Trends: daily attendance, citywide and by borough, equals gold', async () => {
      const days = await gold<{ day: string; rate: number }>(
        warehouse,
        `SELECT strftime(event_date, '%Y-%m-%d') AS day, sum(present + late)::DOUBLE / sum(enrolled) AS rate
         FROM gold.fact_event_metrics GROUP BY 1 ORDER BY 1`,
      );
      await page.goto(`${base}/trends`);
      await rendered(page);
      const cells = await page.locator('#trends-daily tbody tr td:nth-child(2)').allTextContents();
      assert.deepEqual(
        cells,
        days.map((d) => pct.format(d.rate)),
      );
      await shoot(page, 'page-trends');
    });

    await t.test('Pipeline: rows per layer, tests and lineage', async () => {
      await page.goto(`${base}/pipeline`);
      await rendered(page);
      assert.equal(await page.locator('#kpi-bronze').textContent(), int.format(truth.records));
      assert.match((await page.locator('#kpi-tests').textContent()) ?? '', /^\d+ pass$/);
      assert.ok((await page.locator('#lineage-svg g.node').count()) >= 10);
      assert.ok((await page.locator('#pipeline-runs tbody tr').count()) >= 3);
      await shoot(page, 'page-pipeline');
    });

    await t.test('phone width: every page fits without horizontal scrolling', async () => {
      for (const [path, name] of [
        ['/', 'page-now'],
        ['/equity', 'page-equity'],
        ['/schools', 'page-schools'],
        ['/compare', 'page-compare'],
        ['/trends', 'page-trends'],
        ['/pipeline', 'page-pipeline'],
      ] as const) {
        await page.goto(`${base}${path}`);
        if (path === '/') await page.waitForFunction(() => document.getElementById('kpi-rate')?.textContent !== '—');
        else await rendered(page);
        await phone(page, name);
      }
    });

    await t.test('accessibility: labelled controls, a text alternative for every chart and map', async () => {
      for (const path of ['/equity', '/trends', '/pipeline']) {
        await page.goto(`${base}${path}`);
        await rendered(page);
        const unlabelled = await page.evaluate(() =>
          Array.from(document.querySelectorAll('input, select, button'))
            .filter((el) => !(el as HTMLElement).hidden && !(el as HTMLElement).closest('[hidden]'))
            .filter((el) => {
              const id = el.getAttribute('id');
              const label = id ? document.querySelector(`label[for="${id}"]`) : null;
              return !label && !el.getAttribute('aria-label') && !(el.textContent ?? '').trim();
            })
            .map((el) => el.outerHTML.slice(0, 80)),
        );
        assert.deepEqual(unlabelled, [], path);
        const charts = await page.evaluate(() =>
          Array.from(document.querySelectorAll('canvas, svg[role="img"]')).map(
            (c) => c.getAttribute('aria-label') ?? '',
          ),
        );
        assert.ok(charts.length > 0 && charts.every((l) => l.length > 20), `${path}: ${charts.join(' | ')}`);
      }
      await page.goto(`${base}/equity`);
      await rendered(page);
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.className), 'skip-link');
      for (let i = 0; i < 8; i++) await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'f-borough', 'filters follow the nav');
    });

    await t.test('injection attempts in every parameter answer 400 and change nothing', async () => {
      const [before] = await gold<{ n: number }>(
        warehouse,
        'SELECT count(*)::INTEGER AS n FROM gold.fact_event_metrics',
      );
      expectErrors = true;
      const statuses = await page.evaluate(async () => {
        const attacks = ["' OR 1=1 --", '1; DROP TABLE gold.dim_school', '<script>alert(1)</script>'];
        const urls: string[] = [];
        for (const a of attacks) {
          const v = encodeURIComponent(a);
          for (const p of ['borough', 'district', 'from', 'to', 'metric']) urls.push(`/api/equity?${p}=${v}`);
          for (const p of ['borough', 'district', 'q']) urls.push(`/api/schools?${p}=${v}`);
          urls.push(`/api/school?dbn=${v}`, `/api/now?date=${v}`, `/api/trends?to=${v}`, `/api/compare?district=${v}`);
        }
        return Promise.all(urls.map(async (u) => [u, (await fetch(u)).status] as const));
      });
      for (const [url, status] of statuses) assert.equal(status, 400, url);
      await page.goto(`${base}/equity?borough=${encodeURIComponent("X' OR '1'='1")}`);
      await page.waitForFunction(() => !document.getElementById('problem')!.hidden);
      assert.match((await page.locator('#problem').textContent()) ?? '', /borough/);
      assert.equal(await page.locator('#content').innerHTML(), '');
      expectErrors = false;
      const [after] = await gold<{ n: number }>(
        warehouse,
        'SELECT count(*)::INTEGER AS n FROM gold.fact_event_metrics',
      );
      assert.equal(after!.n, before!.n);
    });

    await t.test('live: a new micro-batch reaches the open Now page without a reload', async () => {
      await page.goto(`${base}/`);
      await page.waitForFunction(() => document.getElementById('kpi-rate')?.textContent !== '—');
      await page.evaluate(() => {
        (window as unknown as { notReloaded: boolean }).notReloaded = true;
      });
      const dayBefore = await page.locator('#kpis-day').textContent();
      const buildBefore = await builtAt(project.paths.goldTarget);
      assert.ok(buildBefore && buildBefore >= firstBuild!);
      const more = await medallion(
        ['simulate', ...args, '--days', '1', '--sample', '0.05', '--seed', '8', '--start-date', '2018-10-03'],
        env,
      );
      assert.equal(more.code, 0, more.stderr);
      const simulatedAt = Date.now();
      const newBuild = await until(
        'the next gold build',
        () => builtAt(project.paths.goldTarget),
        (b) => b !== null && b !== buildBefore,
      );
      const landed = Date.parse(newBuild!);
      await page.waitForFunction((before) => document.getElementById('kpis-day')?.textContent !== before, dayBefore, {
        timeout: TRIGGER_MS + 5000 + 5000,
      });
      const shown = Date.now();
      assert.ok(
        shown - landed <= TRIGGER_MS + 5000,
        `the page changed ${shown - landed} ms after the build landed (allowed ${TRIGGER_MS + 5000})`,
      );
      t.diagnostic(
        `live: events simulated → page changed ${shown - simulatedAt} ms; gold build landed → page changed ${shown - landed} ms (trigger ${TRIGGER_MS} ms)`,
      );
      assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true);
      assert.match((await page.locator('#kpis-day').textContent()) ?? '', /Oct 3, 2018/);
      const [e] = await gold<{ rate: number }>(
        warehouse,
        `SELECT sum(present + late)::DOUBLE / sum(enrolled) AS rate FROM gold.fact_event_metrics
         WHERE event_date = DATE '2018-10-03'`,
      );
      await page.waitForFunction(
        (text) => document.getElementById('kpi-rate')?.textContent === text,
        pct.format(e!.rate),
      );
      await shoot(page, 'page-now-live');
    });

    assert.deepEqual(problems, []);
  } finally {
    await context?.close();
    await dashboard?.close();
    if (runner && runner.exitCode === null) {
      const exited = new Promise((r) => runner!.once('close', r));
      runner.kill('SIGINT');
      await exited;
    }
    await p.cleanup();
  }
});
