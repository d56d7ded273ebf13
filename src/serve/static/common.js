// Shared by every page: formatting, fetching, CSV downloads, live updates and chart helpers.
// Every number comes computed (and suppressed) from the server; this file only formats and draws.

export const SUPPRESSED = 's';

const pct = new Intl.NumberFormat('en-US', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });
const int = new Intl.NumberFormat('en-US');
const dec1 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const dayLong = new Intl.DateTimeFormat('en-US', {
  weekday: 'short',
  month: 'short',
  day: 'numeric',
  year: 'numeric',
  timeZone: 'UTC',
});
const dayShort = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
const clock = new Intl.DateTimeFormat('en-US', { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export const $ = (id) => document.getElementById(id);
export const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

export const settings = { minGroupSize: 10 };

/** A rate or share (0–1) as a percentage, `s` or an em dash. */
export function formatRate(v) {
  if (v === SUPPRESSED) return SUPPRESSED;
  return v === null || v === undefined ? '—' : pct.format(v);
}

/** A count, `s` or an em dash. */
export function formatCount(v) {
  if (v === SUPPRESSED) return SUPPRESSED;
  return v === null || v === undefined ? '—' : int.format(v);
}

/** A difference of two rates in percentage points, signed. */
export function formatPoints(v) {
  if (v === SUPPRESSED) return SUPPRESSED;
  if (v === null || v === undefined) return '—';
  const p = v * 100;
  return `${p > 0 ? '+' : p < 0 ? '−' : '±'}${dec1.format(Math.abs(p))} pts`;
}

export function formatNumber1(v) {
  if (v === SUPPRESSED) return SUPPRESSED;
  return v === null || v === undefined ? '—' : dec1.format(v);
}

export function formatDay(iso) {
  return iso ? dayLong.format(new Date(`${iso.slice(0, 10)}T00:00:00Z`)) : '—';
}

export function formatShortDay(iso) {
  return iso ? dayShort.format(new Date(`${iso.slice(0, 10)}T00:00:00Z`)) : '—';
}

export function formatClock(iso) {
  return iso ? clock.format(new Date(iso)) : '—';
}

/** A duration in seconds, briefly (e.g. `4.2 s`, `3 min 5 s`, `2 h 10 min`). */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 60) return `${dec1.format(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
  return `${int.format(Math.round(seconds / 86400))} days`;
}

/** A text node, or for `s` an <abbr> explaining the suppression. */
export function figure(text) {
  if (text !== SUPPRESSED) return document.createTextNode(text);
  const abbr = document.createElement('abbr');
  abbr.title = `Suppressed: fewer than ${settings.minGroupSize} students`;
  abbr.textContent = SUPPRESSED;
  return abbr;
}

export function setFigure(el, text) {
  el.replaceChildren(figure(text));
}

/** Makes an element with a class and children (strings become text). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

/** Fetches JSON from the API; a failure carries the server's message and hint. */
export async function getJson(url) {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw Object.assign(new Error(body.error?.message ?? `${url} answered ${res.status}`), {
      hint: body.error?.hint,
      status: res.status,
    });
  }
  return body;
}

export function showProblem(error) {
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

/** Shows when gold was read and whether it is live. */
export function showStatus(data, extra = '') {
  const parts = [];
  const dot = h('span', { class: 'live', 'aria-hidden': 'true' });
  parts.push(dot, `Live · gold updated ${formatClock(data.updatedAt)}`);
  if (extra) parts.push(` · ${extra}`);
  if (data.stale) parts.push(h('span', { class: 'stale', text: ' · warehouse busy, showing the last figures read' }));
  $('status').replaceChildren(...parts);
}

/** The value of one CSV field: numbers as they are, `s` kept, text quoted when needed. */
function csvField(v) {
  if (v === null || v === undefined) return '';
  const text = String(v);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** CSV text of `columns` (key, label) over `rows` (objects). */
export function toCsv(columns, rows) {
  const lines = [columns.map((c) => csvField(c.label)).join(',')];
  for (const r of rows) lines.push(columns.map((c) => csvField(c.csv ? c.csv(r) : r[c.key])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** Downloads text as a file (a Blob link: no inline script, no server round trip). */
export function download(filename, text, type = 'text/csv;charset=utf-8') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A "Download CSV" button for the data behind a chart or table (`get` returns {columns, rows}). */
export function csvButton(label, filename, get) {
  const button = h('button', { type: 'button', class: 'csv', 'data-csv': filename }, 'Download CSV');
  button.setAttribute('aria-label', `Download ${label} as CSV`);
  button.addEventListener('click', () => {
    const { columns, rows } = get();
    download(filename, toCsv(columns, rows));
  });
  return button;
}

/**
 * A table: `columns` are {key, label, num?, format?(value,row), link?(row)}; the first column is the
 * row header. Suppressed values show as `s` with an explanation.
 */
export function table(caption, columns, rows, emptyText = 'No data for this selection.') {
  const thead = h(
    'thead',
    {},
    h(
      'tr',
      {},
      columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : undefined }, c.label)),
    ),
  );
  const body = rows.map((r) =>
    h(
      'tr',
      {},
      columns.map((c, i) => {
        const value = r[c.key];
        const text = c.format ? c.format(value, r) : value === null || value === undefined ? '—' : String(value);
        const cellEl = h(i === 0 ? 'th' : 'td', { class: c.num ? 'num' : undefined });
        if (i === 0) cellEl.scope = 'row';
        const href = c.link?.(r);
        cellEl.append(href ? h('a', { href }, text) : figure(text));
        return cellEl;
      }),
    ),
  );
  if (body.length === 0) body.push(h('tr', {}, h('td', { colspan: columns.length, class: 'muted' }, emptyText)));
  return h('div', { class: 'table-wrap' }, h('table', {}, h('caption', {}, caption), thead, h('tbody', {}, body)));
}

/** A card: title, subtitle, optional toolbar items, then body nodes. */
export function card({ id, title, sub, tools = [], body = [] }) {
  const titleId = `${id}-title`;
  return h(
    'section',
    { class: 'card', id, 'aria-labelledby': titleId },
    h(
      'div',
      { class: 'card-head' },
      h('div', {}, h('h2', { id: titleId }, title), sub ? h('p', { class: 'card-sub' }, sub) : null),
      tools.length ? h('div', { class: 'card-tools' }, tools) : null,
    ),
    body,
  );
}

/** A key-figure tile. */
export function kpi(id, label, value, note, main = false) {
  const v = h('p', { class: 'kpi-value', id });
  v.append(figure(value));
  return h(
    'div',
    { class: main ? 'kpi kpi-main' : 'kpi' },
    h('p', { class: 'kpi-label' }, label),
    v,
    note ? h('p', { class: 'kpi-note' }, note) : null,
  );
}

/**
 * Calls `onGold` when a new gold build lands (server-sent events from /api/events). The browser
 * reconnects by itself when the connection drops.
 */
export function liveUpdates(onGold) {
  if (!window.EventSource) return;
  const source = new EventSource('/api/events');
  let timer = 0;
  source.addEventListener('gold', () => {
    clearTimeout(timer);
    timer = setTimeout(onGold, 150);
  });
  window.addEventListener('pagehide', () => source.close());
}

/** Number for a chart (percent), or null when suppressed or missing. */
export function chartValue(v) {
  return typeof v === 'number' ? v * 100 : null;
}

/** Draws each bar's value at its end (Chart.js has no built-in data labels). */
export const valueLabels = {
  id: 'valueLabels',
  afterDatasetsDraw(chart) {
    if (chart.options.plugins?.valueLabels === false) return;
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
        const label = dataset.formatLabel ? dataset.formatLabel(raw) : formatRate(raw);
        if (horizontal) {
          ctx.textAlign = 'left';
          ctx.textBaseline = 'middle';
          const x = typeof raw === 'number' ? Math.max(bar.x, bar.base ?? bar.x) + 6 : chart.chartArea.left + 6;
          ctx.fillText(label, x, bar.y);
        } else {
          ctx.textAlign = 'center';
          ctx.textBaseline = 'bottom';
          const y = typeof raw === 'number' ? Math.min(bar.y, bar.base ?? bar.y) - 4 : chart.chartArea.bottom - 4;
          ctx.fillText(label, bar.x, y);
        }
      });
    });
    ctx.restore();
  },
};

const charts = new Map();

/** Destroys the charts drawn so far (before a page redraws). */
export function clearCharts() {
  for (const c of charts.values()) c.destroy();
  charts.clear();
}

/** A canvas in a sized box, with a text alternative. */
export function chartBox(id, label, className = 'chart') {
  const canvas = h('canvas', { id, role: 'img', 'aria-label': label });
  canvas.textContent = label;
  return h('div', { class: className }, canvas);
}

function axisStyle() {
  return {
    grid: { color: css('--grid') },
    border: { display: false },
    ticks: { color: css('--muted'), maxRotation: 0, autoSkipPadding: 12 },
  };
}

/**
 * A bar chart of rates (0–1) on the canvas `id`: {labels, series: [{label, raw, color}], horizontal,
 * max (percent), points (true for differences in points)}.
 */
export function barChart(
  id,
  { labels, series, horizontal = false, max = 100, min = 0, legend, points, labelsOn = true },
) {
  const { Chart } = window;
  const canvas = $(id);
  if (!Chart || !canvas) return;
  charts.get(id)?.destroy();
  const valueAxis = { ...axisStyle(), min, max };
  valueAxis.ticks = { ...valueAxis.ticks, callback: (v) => (points ? `${v} pts` : `${v}%`) };
  const categoryAxis = {
    grid: { display: false },
    border: { display: false },
    ticks: { color: css('--text'), font: { size: 12 }, autoSkip: false, maxRotation: horizontal ? 0 : 60 },
  };
  const fmt = points ? formatPoints : formatRate;
  const chart = new Chart(canvas, {
    type: 'bar',
    data: {
      labels,
      datasets: series.map((s) => ({
        label: s.label,
        data: s.raw.map(chartValue),
        raw: s.raw,
        formatLabel: fmt,
        backgroundColor: s.colors ?? css(s.color),
        borderRadius: 3,
        maxBarThickness: 36,
      })),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      indexAxis: horizontal ? 'y' : 'x',
      layout: { padding: horizontal ? { right: 64 } : { top: 20 } },
      scales: horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
      plugins: {
        valueLabels: labelsOn,
        legend: legend
          ? {
              display: true,
              position: 'top',
              align: 'end',
              labels: { color: css('--text'), boxWidth: 12, boxHeight: 12, useBorderRadius: true, borderRadius: 2 },
            }
          : { display: false },
        tooltip: {
          callbacks: { label: (item) => `${item.dataset.label}: ${fmt(item.dataset.raw?.[item.dataIndex])}` },
        },
      },
    },
    plugins: [valueLabels],
  });
  charts.set(id, chart);
}

/** A line chart of rates over time: {labels (ISO days), series: [{label, raw, color}]}. */
export function lineChart(id, { labels, series, min, max }) {
  const { Chart } = window;
  const canvas = $(id);
  if (!Chart || !canvas) return;
  charts.get(id)?.destroy();
  const valueAxis = { ...axisStyle(), min, max };
  valueAxis.ticks = { ...valueAxis.ticks, callback: (v) => `${v}%` };
  const timeAxis = { ...axisStyle(), grid: { display: false } };
  timeAxis.ticks = { ...timeAxis.ticks, maxTicksLimit: 10, callback: (_v, i) => formatShortDay(labels[i]) };
  const chart = new Chart(canvas, {
    type: 'line',
    data: {
      labels,
      datasets: series.map((s) => ({
        label: s.label,
        data: s.raw.map(chartValue),
        raw: s.raw,
        borderColor: css(s.color),
        backgroundColor: css(s.color),
        borderWidth: s.width ?? 2,
        pointRadius: labels.length > 40 ? 0 : 2.5,
        spanGaps: false,
        tension: 0.2,
      })),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: 'index', intersect: false },
      scales: { x: timeAxis, y: valueAxis },
      plugins: {
        legend: {
          display: series.length > 1,
          position: 'top',
          align: 'end',
          labels: { color: css('--text'), boxWidth: 12, boxHeight: 12, useBorderRadius: true, borderRadius: 2 },
        },
        tooltip: {
          callbacks: {
            title: (items) => formatDay(labels[items[0]?.dataIndex ?? 0]),
            label: (item) => `${item.dataset.label}: ${formatRate(item.dataset.raw?.[item.dataIndex])}`,
          },
        },
      },
    },
  });
  charts.set(id, chart);
}

/** Chart.js defaults from the page's own fonts and colours. */
export function chartDefaults() {
  const { Chart } = window;
  if (!Chart) return;
  Chart.defaults.font.family = css('--font');
  Chart.defaults.color = css('--muted');
}

/** Narrow screens (phones) get horizontal bars. */
export const narrow = window.matchMedia('(max-width: 640px)');

/** Colours of the areas (New York City, then the boroughs) in line charts. */
export const AREA_COLORS = {
  'New York City': '--series-city',
  Bronx: '--series-bronx',
  Brooklyn: '--series-brooklyn',
  Manhattan: '--series-manhattan',
  Queens: '--series-queens',
  'Staten Island': '--series-staten',
};
