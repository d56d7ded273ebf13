import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { loadProject } from '../../src/config/project.ts';
import { openDuckDb } from '../../src/engine/duckdb.ts';
import { startDashboard } from '../../src/serve/dashboard.ts';
import { buildGoldFixture, FIXTURE_EARLIER, FIXTURE_LATEST } from '../unit/serve/gold-fixture.ts';

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

/** The same formatting the page uses (src/serve/static/now.js). */
const pct = new Intl.NumberFormat('en-US', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });
const int = new Intl.NumberFormat('en-US');

test('the "Now" page shows gold figures, draws its charts without console errors', async (t) => {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI) throw new Error(`${CHROMIUM} is missing in CI: install Debian's chromium package.`);
    const msg = `SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium), browser test not run`;
    process.stderr.write(`\n*** ${msg} ***\n\n`);
    t.skip(msg);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'medallion-browser-'));
  const project = loadProject({ dataDir: join(dir, 'data') });
  await buildGoldFixture(project.paths.warehouse);
  const dashboard = await startDashboard({ project, port: 0 });
  const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
  });
  try {
    const [expected] = await (async () => {
      const db = await openDuckDb(project.paths.warehouse, { readOnly: true });
      try {
        return await db.all<{ rate: number; students: number; schools: number }>(
          `SELECT sum(present + late)::DOUBLE / sum(enrolled) AS rate, sum(enrolled)::INTEGER AS students,
                  count(DISTINCT dbn)::INTEGER AS schools
           FROM gold.fact_event_metrics WHERE event_date = (SELECT max(event_date) FROM gold.fact_event_metrics)`,
        );
      } finally {
        await db.close();
      }
    })();
    const api = (await (await fetch(`${dashboard.url}api/now`)).json()) as {
      date: string;
      citywide: { attendanceRate: number };
    };
    assert.equal(api.date, FIXTURE_LATEST);
    assert.equal(api.citywide.attendanceRate, expected!.rate);

    const page = context.pages()[0] ?? (await context.newPage());
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => {
      // Leaving the page (a reload) cuts the live-update stream; that is not a failure.
      if (r.url().endsWith('/api/events') && r.failure()?.errorText === 'net::ERR_ABORTED') return;
      problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });

    await page.goto(dashboard.url, { waitUntil: 'load' });
    await page.waitForFunction(() => document.getElementById('kpi-rate')?.textContent !== '—');
    await page.waitForFunction(() => document.querySelectorAll('#equity-table tbody tr').length === 6);

    const focusOrder: string[] = [];
    for (let i = 0; i < 14; i++) {
      await page.keyboard.press('Tab');
      focusOrder.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.className || ''));
    }
    assert.deepEqual(focusOrder.slice(0, 1), ['skip-link'], 'the skip link comes first');
    for (const id of ['day', 'refresh', 'borough-csv', 'equity-csv', 'measure-attendance']) {
      assert.ok(focusOrder.includes(id), `#${id} is reachable with the keyboard (${focusOrder.join(', ')})`);
    }

    assert.equal(await page.title(), 'Now · NYC school attendance · Medallion');
    assert.equal(await page.locator('h1').textContent(), 'Attendance now');
    assert.equal(await page.locator('#kpi-rate').textContent(), pct.format(expected!.rate));
    assert.equal(await page.locator('#kpi-rate').textContent(), '91.4%');
    assert.equal(await page.locator('#kpi-students').textContent(), int.format(expected!.students));
    assert.equal(await page.locator('#kpi-schools').textContent(), String(expected!.schools));

    assert.equal(await page.locator('#streamed-days').textContent(), '2 school days');
    const statenIsland = page.locator('#borough-table tbody tr', { hasText: 'Staten Island' });
    assert.deepEqual(await statenIsland.locator('td').allTextContents(), ['1', 's', 's']);
    const boroughLabel = await page.locator('#borough-chart').getAttribute('aria-label');
    assert.match(boroughLabel ?? '', /Bronx 87\.4%.*Staten Island s/);

    const equityLabel = await page.locator('#equity-chart').getAttribute('aria-label');
    assert.match(equityLabel ?? '', /^Bar chart of attendance rate/);
    await page.locator('label[for="measure-chronic"]').click();
    assert.match(
      (await page.locator('#equity-chart').getAttribute('aria-label')) ?? '',
      /^Bar chart of chronic absence/,
    );
    await page.locator('label[for="measure-attendance"]').click();

    const chartsDrawn = await page.evaluate(() =>
      ['borough-chart', 'equity-chart'].map((id) => {
        const c = document.getElementById(id) as HTMLCanvasElement;
        return c.width > 0 && c.height > 0;
      }),
    );
    assert.deepEqual(chartsDrawn, [true, true]);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'now.png'), fullPage: true });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling at phone width (overflow ${overflow}px)`);
    await page.screenshot({ path: join(ARTIFACTS, 'now-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });

    // The school day is kept in the address: choose one, reload, and it is still shown.
    const [earlier] = await (async () => {
      const db = await openDuckDb(project.paths.warehouse, { readOnly: true });
      try {
        return await db.all<{ rate: number }>(
          `SELECT sum(present + late)::DOUBLE / sum(enrolled) AS rate FROM gold.fact_event_metrics
           WHERE event_date = DATE '${FIXTURE_EARLIER}'`,
        );
      } finally {
        await db.close();
      }
    })();
    await page.selectOption('#day', FIXTURE_EARLIER);
    await page.waitForFunction(
      (t) => document.getElementById('kpi-rate')?.textContent === t,
      pct.format(earlier!.rate),
    );
    assert.equal(new URL(page.url()).search, `?date=${FIXTURE_EARLIER}`);
    await page.reload();
    await page.waitForFunction(
      (t) => document.getElementById('kpi-rate')?.textContent === t,
      pct.format(earlier!.rate),
    );
    assert.equal(await page.locator('#day').inputValue(), FIXTURE_EARLIER);

    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await dashboard.close();
    await rm(dir, { recursive: true, force: true });
  }
});
