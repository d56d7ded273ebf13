// The "Now" page: fetches /api/now and /api/dates, formats the figures and draws the charts.
// Every number comes computed (and suppressed) from the server; this file only formats and draws.
// It redraws when the server announces a new gold build (server-sent events), and polls as a fallback.

import { download, formatDuration, liveUpdates, toCsv } from './common.js';

const SUPPRESSED = 's';
const REFRESH_MS = 60_000;

const pct = new Intl.NumberFormat('en-US', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });
const int = new Intl.NumberFormat('en-US');
const dayLong = new Intl.DateTimeFormat('en-US', {
  weekday: 'short',
  month: 'short',
  day: 'numeric',
  year: 'numeric',
  timeZone: 'UTC',
});
const clock = new Intl.DateTimeFormat('en-US', { hour: '2-digit', minute: '2-digit', second: '2-digit' });

const $ = (id) => document.getElementById(id);
const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

const state = { minGroupSize: 10, measure: 'attendance', data: null, timer: 0, charts: {} };

/** Formats a rate (0–1), `s` or null. */
function formatRate(v) {
  if (v === SUPPRESSED) return SUPPRESSED;
  return v === null || v === undefined ? '—' : pct.format(v);
}

/** Formats a count, `s` or null. */
function formatCount(v) {
  if (v === SUPPRESSED) return SUPPRESSED;
  return v === null || v === undefined ? '—' : int.format(v);
}

function formatDay(iso) {
  return iso ? dayLong.format(new Date(`${iso}T00:00:00Z`)) : '—';
}

/** A text node, or for `s` an <abbr> explaining the suppression. */
function figure(text) {
  if (text !== SUPPRESSED) return document.createTextNode(text);
  const abbr = document.createElement('abbr');
  abbr.title = `Suppressed: fewer than ${state.minGroupSize} students`;
  abbr.textContent = SUPPRESSED;
  return abbr;
}

function setFigure(el, text) {
  el.replaceChildren(figure(text));
}

function cell(tag, text, className) {
  const el = document.createElement(tag);
  if (tag === 'th') el.scope = 'row';
  if (className) el.className = className;
  el.append(figure(text));
  return el;
}

function quintileLabel(group) {
  if (group === 'Q1') return 'Q1 · lowest need';
  if (group === 'Q5') return 'Q5 · highest need';
  if (group === 'unknown') return 'No ENI';
  return group;
}

/** Number for the chart (percent), or null when suppressed or missing. */
function chartValue(v) {
  return typeof v === 'number' ? v * 100 : null;
}

/** Draws each bar's value at its end (Chart.js has no built-in data labels). */
const valueLabels = {
  id: 'valueLabels',
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    const horizontal = chart.options.indexAxis === 'y';
    ctx.save();
    ctx.font = `600 12px ${css('--font')}`;
    ctx.fillStyle = css('--text');
    chart.data.datasets.forEach((dataset, i) => {
      const meta = chart.getDatasetMeta(i);
      if (meta.hidden) return;
      meta.data.forEach((bar, j) => {
        const raw = dataset.raw?.[j];
        const label = formatRate(raw);
        if (horizontal) {
          ctx.textAlign = 'left';
          ctx.textBaseline = 'middle';
          const x = typeof raw === 'number' ? bar.x + 6 : chart.chartArea.left + 6;
          ctx.fillText(label, x, bar.y);
        } else {
          ctx.textAlign = 'center';
          ctx.textBaseline = 'bottom';
          const y = typeof raw === 'number' ? bar.y - 4 : chart.chartArea.bottom - 4;
          ctx.fillText(label, bar.x, y);
        }
      });
    });
    ctx.restore();
  },
};

function baseOptions() {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    plugins: {
      legend: { display: false },
      tooltip: {
        callbacks: {
          label: (item) => `${item.dataset.label}: ${formatRate(item.dataset.raw?.[item.dataIndex])}`,
        },
      },
    },
  };
}

function percentAxis(max) {
  return {
    min: 0,
    max,
    grid: { color: css('--grid') },
    border: { display: false },
    ticks: { color: css('--muted'), maxRotation: 0, autoSkipPadding: 12, callback: (v) => `${v}%` },
  };
}

/** Phones get horizontal bars, so that value labels have room. */
const narrow = window.matchMedia('(max-width: 640px)');

/** (Re)creates a bar chart on `canvas`; charts are small, so each render draws afresh. */
function barChart(key, canvas, { labels, datasets, horizontal, max, legend }) {
  const { Chart } = window;
  state.charts[key]?.destroy();
  const valueAxis = percentAxis(max);
  const categoryAxis = {
    grid: { display: false },
    border: { display: false },
    ticks: { color: css('--text'), font: { size: 13 } },
  };
  const options = baseOptions();
  options.indexAxis = horizontal ? 'y' : 'x';
  options.layout = { padding: horizontal ? { right: 52 } : { top: 20 } };
  options.scales = horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis };
  if (legend) {
    options.plugins.legend = {
      display: true,
      position: 'top',
      align: 'end',
      labels: { color: css('--text'), boxWidth: 12, boxHeight: 12, useBorderRadius: true, borderRadius: 2 },
    };
  }
  state.charts[key] = new Chart(canvas, { type: 'bar', data: { labels, datasets }, options, plugins: [valueLabels] });
}

function drawBoroughs(boroughs) {
  const canvas = $('borough-chart');
  const raw = boroughs.map((b) => b.attendanceRate);
  canvas.setAttribute(
    'aria-label',
    boroughs.length === 0
      ? 'Bar chart of attendance by borough: no data for this day.'
      : `Bar chart of attendance by borough on ${formatDay(state.data.date)}: ${boroughs
          .map((b) => `${b.borough} ${formatRate(b.attendanceRate)}`)
          .join(', ')}.`,
  );
  barChart('borough', canvas, {
    labels: boroughs.map((b) => (b.attendanceRate === SUPPRESSED ? `${b.borough} (s)` : b.borough)),
    datasets: [
      {
        label: 'Attendance',
        data: raw.map(chartValue),
        raw,
        backgroundColor: css('--series-borough'),
        borderRadius: 4,
        maxBarThickness: 34,
      },
    ],
    horizontal: true,
    max: 100,
  });
}

function drawEquity(equity) {
  const canvas = $('equity-chart');
  const attendance = state.measure === 'attendance';
  const name = attendance ? 'attendance rate' : 'chronic absence rate';
  const streamRaw = equity.map((r) => (attendance ? r.streamingAttendanceRate : r.streamingChronicAbsenceRate));
  const officialRaw = equity.map((r) => (attendance ? r.officialAttendanceRate : r.officialChronicAbsenceRate));
  const series = (label, raw, color) => ({
    label,
    data: raw.map(chartValue),
    raw,
    backgroundColor: css(color),
    borderRadius: 4,
    maxBarThickness: 40,
  });
  const datasets = [
    series('Streaming', streamRaw, '--series-stream'),
    series('Official 2018–19', officialRaw, '--series-official'),
  ];
  canvas.setAttribute(
    'aria-label',
    equity.length === 0
      ? `Bar chart of ${name} by economic need quintile: no data yet.`
      : `Bar chart of ${name} by economic need quintile, streaming vs official: ${equity
          .map((r, i) => `${quintileLabel(r.group)} ${formatRate(streamRaw[i])} vs ${formatRate(officialRaw[i])}`)
          .join('; ')}.`,
  );
  const peak = Math.max(0, ...datasets.flatMap((d) => d.data.filter((v) => v !== null)));
  barChart('equity', canvas, {
    labels: equity.map((r) => quintileLabel(r.group)),
    datasets,
    horizontal: narrow.matches,
    max: attendance ? 100 : Math.min(100, Math.max(10, Math.ceil((peak * 1.2) / 10) * 10)),
    legend: true,
  });
}

function renderBoroughTable(boroughs) {
  const rows = boroughs.map((b) => {
    const tr = document.createElement('tr');
    tr.append(
      cell('th', b.borough),
      cell('td', formatCount(b.schools), 'num'),
      cell('td', formatCount(b.students), 'num'),
      cell('td', formatRate(b.attendanceRate), 'num'),
    );
    return tr;
  });
  if (rows.length === 0) rows.push(emptyRow(4, 'No attendance events for this day.'));
  $('borough-table').tBodies[0].replaceChildren(...rows);
}

function renderEquityTable(equity) {
  const rows = equity.map((r) => {
    const tr = document.createElement('tr');
    tr.append(
      cell('th', quintileLabel(r.group)),
      cell('td', formatCount(r.schools), 'num'),
      cell('td', formatCount(r.students), 'num'),
      cell('td', formatRate(r.streamingAttendanceRate), 'num'),
      cell('td', formatRate(r.officialAttendanceRate), 'num'),
      cell('td', formatRate(r.streamingChronicAbsenceRate), 'num'),
      cell('td', formatRate(r.officialChronicAbsenceRate), 'num'),
    );
    return tr;
  });
  if (rows.length === 0) rows.push(emptyRow(7, 'No equity figures in gold yet.'));
  $('equity-table').tBodies[0].replaceChildren(...rows);
}

function emptyRow(columns, text) {
  const tr = document.createElement('tr');
  const td = document.createElement('td');
  td.colSpan = columns;
  td.className = 'muted';
  td.textContent = text;
  tr.append(td);
  return tr;
}

const epm = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function renderLive(data) {
  const p = data.pipeline;
  $('kpi-epm').textContent = p ? epm.format(p.eventsPerMinute) : '—';
  $('kpi-epm-note').textContent = p?.lastBatch
    ? `Refined into silver, last ${p.windowMinutes} min · last batch ${int.format(p.lastBatch.records)} events at ${clock.format(new Date(p.lastBatch.finishedAt))}`
    : 'Events refined into silver, last 10 minutes';
  $('kpi-lag').textContent = p?.lagSeconds === null || p?.lagSeconds === undefined ? '—' : formatDuration(p.lagSeconds);
  $('kpi-lag-note').textContent = !p?.lastBatch
    ? 'How far gold lags the newest events'
    : p.pending
      ? 'Newest batch not in gold yet: waiting for the build'
      : `Newest batch to gold built at ${clock.format(new Date(p.goldBuiltAt))}`;
  $('kpi-newest').textContent = data.newestEventTime
    ? `${formatDay(data.newestEventTime.slice(0, 10))} ${data.newestEventTime.slice(11, 16)}`
    : '—';
}

const BOROUGH_CSV = [
  ['borough', 'borough'],
  ['schools', 'schools'],
  ['students', 'students'],
  ['attendanceRate', 'attendance_rate'],
];
const EQUITY_CSV = [
  ['group', 'eni_quintile'],
  ['schools', 'schools'],
  ['students', 'students'],
  ['streamingAttendanceRate', 'streaming_attendance_rate'],
  ['officialAttendanceRate', 'official_attendance_rate'],
  ['streamingChronicAbsenceRate', 'streaming_chronic_absence_rate'],
  ['officialChronicAbsenceRate', 'official_chronic_absence_rate'],
];

function downloadCsv(name, spec, rows) {
  const columns = spec.map(([key, label]) => ({ key, label }));
  const day = state.data?.date ?? 'latest';
  download(`${name}_${day}.csv`, toCsv(columns, rows));
}

function render(data) {
  state.data = data;
  renderLive(data);
  state.minGroupSize = data.minGroupSize;
  $('min-group').textContent = String(data.minGroupSize);
  $('streamed-days').textContent =
    data.streamedDays === 1 ? '1 school day' : `${int.format(data.streamedDays)} school days`;
  for (const el of document.querySelectorAll('.kpi-day')) el.textContent = formatDay(data.date);
  $('kpis-day').textContent = data.date ? formatDay(data.date) : 'no school day yet';
  const city = data.citywide;
  setFigure($('kpi-rate'), formatRate(city?.attendanceRate ?? null));
  setFigure($('kpi-schools'), formatCount(city?.schools ?? null));
  setFigure($('kpi-students'), formatCount(city?.students ?? null));
  renderBoroughTable(data.boroughs);
  renderEquityTable(data.equity);
  if (window.Chart) {
    drawBoroughs(data.boroughs);
    drawEquity(data.equity);
  }
}

function showStatus(data) {
  const status = $('status');
  const parts = [];
  if (!$('day').value) {
    const dot = document.createElement('span');
    dot.className = 'live';
    dot.setAttribute('aria-hidden', 'true');
    parts.push(dot, `Live · latest school day ${formatDay(data.date)} · `);
  } else parts.push(`School day ${formatDay(data.date)} · `);
  parts.push(`gold updated ${clock.format(new Date(data.updatedAt))}`);
  if (data.stale) {
    const stale = document.createElement('span');
    stale.className = 'stale';
    stale.textContent = ' · warehouse busy, showing the last figures read';
    parts.push(stale);
  }
  if (!data.date) parts.push(' · no attendance events in gold yet');
  status.replaceChildren(...parts);
}

function showProblem(error) {
  const box = $('problem');
  if (!error) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const title = document.createElement('strong');
  title.textContent = error.message;
  box.replaceChildren(title);
  if (error.hint) box.append(document.createTextNode(error.hint));
  box.hidden = false;
  $('status').textContent = '';
}

async function getJson(url) {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw Object.assign(new Error(body.error?.message ?? `${url} answered ${res.status}`), {
      hint: body.error?.hint,
    });
  }
  return body;
}

async function loadDates() {
  try {
    const { dates } = await getJson('/api/dates');
    const select = $('day');
    const current = select.value || addressDay();
    const options = [new Option('Latest (live)', '')];
    for (const d of dates) options.push(new Option(formatDay(d), d));
    select.replaceChildren(...options);
    select.value = dates.includes(current) ? current : '';
  } catch {
    // /api/now reports the problem.
  }
}

/** The school day in the address (`?date=`), so that a view can be shared. */
function addressDay() {
  return new URLSearchParams(location.search).get('date') ?? '';
}

function keepDayInAddress() {
  const day = $('day').value;
  history.replaceState(null, '', day ? `/?date=${encodeURIComponent(day)}` : '/');
}

async function load() {
  // The first load asks for the address's day as it is (the server validates it).
  const day = state.firstDay ?? $('day').value;
  state.firstDay = undefined;
  try {
    const data = await getJson(day ? `/api/now?date=${encodeURIComponent(day)}` : '/api/now');
    showProblem(null);
    render(data);
    showStatus(data);
    schedule(data.stale ? 1000 : REFRESH_MS);
    return;
  } catch (err) {
    showProblem(err);
  }
  schedule(REFRESH_MS);
}

function schedule(ms) {
  clearTimeout(state.timer);
  if ($('day').value === '' && !addressDay()) state.timer = setTimeout(refresh, ms);
}

async function refresh() {
  await loadDates();
  await load();
}

function start() {
  const { Chart } = window;
  if (Chart) {
    Chart.defaults.font.family = css('--font');
    Chart.defaults.color = css('--muted');
  }
  state.firstDay = addressDay() || undefined;
  $('day').addEventListener('change', () => {
    keepDayInAddress();
    load();
  });
  $('refresh').addEventListener('click', refresh);
  $('borough-csv').addEventListener('click', () =>
    downloadCsv('now-boroughs', BOROUGH_CSV, state.data?.boroughs ?? []),
  );
  $('equity-csv').addEventListener('click', () => downloadCsv('now-equity', EQUITY_CSV, state.data?.equity ?? []));
  liveUpdates(() => {
    if ($('day').value === '') refresh();
  });
  for (const input of document.querySelectorAll('input[name="measure"]')) {
    input.addEventListener('change', () => {
      state.measure = input.value;
      if (state.data && window.Chart) drawEquity(state.data.equity);
    });
  }
  narrow.addEventListener('change', () => {
    if (state.data && window.Chart) drawEquity(state.data.equity);
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && $('day').value === '') load();
  });
  refresh();
}

start();
