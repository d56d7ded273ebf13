// The pages other than Now: Equity, Schools, a school, Streaming vs batch, Trends and Pipeline.
// The path names the page; the filters live in the address (so a view can be shared) and are sent
// to the API as they are. Every figure comes computed and suppressed from the server.

import {
  $,
  AREA_COLORS,
  barChart,
  card,
  chartBox,
  chartDefaults,
  clearCharts,
  css,
  csvButton,
  formatClock,
  formatCount,
  formatDay,
  formatDuration,
  formatPoints,
  formatRate,
  getJson,
  h,
  kpi,
  lineChart,
  liveUpdates,
  narrow,
  settings,
  showProblem,
  showStatus,
  table,
} from './common.js';

const DISTRICTS = [...Array.from({ length: 32 }, (_, i) => i + 1), 75, 79, 84];
const BOROUGH_NAMES = { M: 'Manhattan', X: 'Bronx', K: 'Brooklyn', Q: 'Queens', R: 'Staten Island' };
const METRICS = {
  attendance: { label: 'Attendance (stream)', higherIsBetter: true },
  official_attendance: { label: 'Attendance (official 2018–19)', higherIsBetter: true },
  official_chronic_absence: { label: 'Chronic absence (official 2018–19)', higherIsBetter: false },
  economic_need: { label: 'Economic Need Index', higherIsBetter: false },
  temporary_housing: { label: 'Students in temporary housing', higherIsBetter: false },
  ell: { label: 'English language learners', higherIsBetter: false },
  swd: { label: 'Students with disabilities', higherIsBetter: false },
};

const rate = (v) => formatRate(v);
const count = (v) => formatCount(v);
const plain = (v) => (v === null || v === undefined ? '—' : String(v));

function quintileLabel(group) {
  if (group === 'Q1') return 'Q1 · lowest need';
  if (group === 'Q5') return 'Q5 · highest need';
  if (group === 'unknown') return 'No ENI';
  return group;
}

function districtLabel(key) {
  const n = Number(key);
  if (n === 75) return 'D75 special ed.';
  if (n === 79) return 'D79 alternative';
  if (n === 84) return 'D84 charter';
  return `District ${n}`;
}

/** Filters shown on each page, and the API each page reads. */
const PAGES = {
  '/equity': {
    title: 'Equity',
    lede: 'Attendance and chronic absenteeism against economic need, temporary housing, English learners and students with disabilities.',
    filters: ['borough', 'district', 'from', 'to', 'metric'],
    api: '/api/equity',
    render: renderEquity,
  },
  '/schools': {
    title: 'Schools',
    lede: 'Find a school by name or DBN; open it for its daily attendance, demographics and history.',
    filters: ['borough', 'district', 'q'],
    api: '/api/schools',
    render: renderSchools,
  },
  '/school': {
    title: 'School',
    lede: '',
    filters: ['from', 'to'],
    keep: ['dbn'],
    api: '/api/school',
    render: renderSchool,
  },
  '/compare': {
    title: 'Streaming vs batch',
    lede: 'Attendance derived from the live stream against the official end-of-year figure (NYC DOE, 2018–19), per school and district, differences ranked.',
    filters: ['borough', 'district', 'from', 'to'],
    api: '/api/compare',
    render: renderCompare,
  },
  '/trends': {
    title: 'Trends',
    lede: 'Attendance per school day and per week, citywide and by borough.',
    filters: ['borough', 'district', 'from', 'to'],
    api: '/api/trends',
    render: renderTrends,
  },
  '/pipeline': {
    title: 'Pipeline health',
    lede: 'Last runs, rows per layer, quarantine by rule, late and duplicate events, data-quality checks, gold tests and lineage.',
    filters: [],
    api: '/api/pipeline',
    render: renderPipeline,
  },
};

const page = PAGES[location.pathname] ?? PAGES['/equity'];
const state = { data: null, loading: 0, retry: 0 };

// ---------------------------------------------------------------------------------------------
// Filters ⇄ address

function filterInputs() {
  return page.filters.map((name) => $(`f-${name}`));
}

function readAddress() {
  const params = new URLSearchParams(location.search);
  for (const input of filterInputs()) input.value = params.get(input.name) ?? input.defaultValue ?? '';
  if (page.filters.includes('metric') && !$('f-metric').value) $('f-metric').value = 'attendance';
}

/** The query string of the current view: the page's filters that are set, and kept parameters. */
function viewQuery() {
  const now = new URLSearchParams(location.search);
  const params = new URLSearchParams();
  for (const key of page.keep ?? []) if (now.get(key)) params.set(key, now.get(key));
  for (const input of filterInputs()) {
    const v = input.value.trim();
    if (v && !(input.name === 'metric' && v === 'attendance')) params.set(input.name, v);
  }
  return params.toString();
}

function setupFilters() {
  const form = $('filters');
  const used = new Set(page.filters);
  for (const field of form.querySelectorAll('[data-filter]')) field.hidden = !used.has(field.dataset.filter);
  form.hidden = page.filters.length === 0;
  const district = $('f-district');
  for (const d of DISTRICTS) district.append(new Option(districtLabel(d), String(d)));
  readAddress();
  let timer = 0;
  const apply = () => {
    const q = viewQuery();
    history.replaceState(null, '', `${location.pathname}${q ? `?${q}` : ''}`);
    load();
  };
  for (const input of filterInputs()) {
    if (input.type === 'search') {
      input.addEventListener('input', () => {
        clearTimeout(timer);
        timer = setTimeout(apply, 250);
      });
    } else input.addEventListener('change', apply);
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apply();
  });
  form.addEventListener('reset', () => setTimeout(apply, 0));
}

/** Words for the filters in force, for captions and file names. */
function filterWords() {
  const p = new URLSearchParams(location.search);
  const words = [];
  if (p.get('borough')) words.push(BOROUGH_NAMES[p.get('borough')] ?? p.get('borough'));
  if (p.get('district')) words.push(districtLabel(p.get('district')));
  if (p.get('from') || p.get('to')) words.push(`${p.get('from') ?? 'start'} to ${p.get('to') ?? 'latest'}`);
  return words;
}

function fileName(base) {
  const words = filterWords().map((w) => w.toLowerCase().replace(/[^a-z0-9]+/g, '-'));
  return `${[base, ...words].join('_')}.csv`;
}

// ---------------------------------------------------------------------------------------------
// Loading

/** The API query: the page's own parameters exactly as the address has them (the server validates them). */
function apiQuery() {
  const now = new URLSearchParams(location.search);
  const params = new URLSearchParams();
  for (const key of [...(page.keep ?? []), ...page.filters]) if (now.has(key)) params.set(key, now.get(key));
  return params.toString();
}

async function load() {
  const token = ++state.loading;
  clearTimeout(state.retry);
  const q = apiQuery();
  try {
    const data = await getJson(`${page.api}${q ? `?${q}` : ''}`);
    if (token !== state.loading) return;
    state.data = data;
    if (typeof data.minGroupSize === 'number') {
      settings.minGroupSize = data.minGroupSize;
      $('min-group').textContent = String(data.minGroupSize);
    }
    showProblem(null);
    clearCharts();
    $('content').replaceChildren();
    page.render(data);
    const words = filterWords();
    showStatus(data, words.length ? `filtered: ${words.join(', ')}` : 'all schools');
    // A build was still holding the warehouse: the figures are the last ones read; try again shortly.
    if (data.stale) state.retry = setTimeout(load, 1000);
    document.body.dataset.ready = String(Number(document.body.dataset.ready ?? 0) + 1);
  } catch (err) {
    if (token !== state.loading) return;
    showProblem(err);
    $('content').replaceChildren();
    document.body.dataset.ready = String(Number(document.body.dataset.ready ?? 0) + 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Equity

const GROUP_COLUMNS = (first) => [
  first,
  { key: 'schools', label: 'Schools', num: true, format: count },
  { key: 'students', label: 'Students', num: true, format: count },
  { key: 'attendanceRate', label: 'Attendance (stream)', num: true, format: rate },
  { key: 'officialAttendanceRate', label: 'Attendance (official)', num: true, format: rate },
  { key: 'officialChronicAbsenceRate', label: 'Chronic absence (official)', num: true, format: rate },
  { key: 'streamingChronicAbsenceRate', label: 'Chronic absence (stream)', num: true, format: rate },
  { key: 'economicNeedIndex', label: 'ENI', num: true, format: rate },
  { key: 'shareTemporaryHousing', label: 'Temp. housing', num: true, format: rate },
  { key: 'shareEll', label: 'ELL', num: true, format: rate },
  { key: 'shareSwd', label: 'SWD', num: true, format: rate },
];

function groupCard({ id, title, sub, rows, first, horizontal, height }) {
  const columns = GROUP_COLUMNS(first);
  const labels = rows.map((r) => first.format(r.group));
  const chartLabel = `Bar chart of streaming and official attendance ${title.toLowerCase()}: ${rows
    .map((r, i) => `${labels[i]} ${rate(r.attendanceRate)} vs ${rate(r.officialAttendanceRate)}`)
    .join('; ')}.`;
  const section = card({
    id,
    title,
    sub,
    tools: [csvButton(title, fileName(id), () => ({ columns: csvColumns(columns), rows }))],
    body: [
      chartBox(`${id}-chart`, chartLabel, `chart ${height ?? 'chart-md'}`),
      table(`${title}: attendance, chronic absence and equity covariates`, columns, rows),
    ],
  });
  $('content').append(section);
  const lows = rows.flatMap((r) => [r.attendanceRate, r.officialAttendanceRate]).filter((v) => typeof v === 'number');
  const floor = lows.length ? Math.max(0, Math.floor(Math.min(...lows) * 10) * 10 - 10) : 0;
  barChart(`${id}-chart`, {
    labels,
    horizontal: horizontal || narrow.matches,
    min: floor,
    max: 100,
    legend: true,
    labelsOn: rows.length <= 8,
    series: [
      { label: 'Attendance (stream)', raw: rows.map((r) => r.attendanceRate), color: '--series-stream' },
      {
        label: 'Attendance (official 2018–19)',
        raw: rows.map((r) => r.officialAttendanceRate),
        color: '--series-official',
      },
    ],
  });
}

/** CSV columns: the key as the header's machine name and raw values (rates 0–1, `s` kept). */
function csvColumns(columns) {
  return columns.map((c) => ({ key: c.key, label: c.csvLabel ?? c.key }));
}

function gapTile(id, label, value, note) {
  return kpi(id, label, formatPoints(value), note);
}

function renderEquity(d) {
  const content = $('content');
  const city = d.city;
  content.append(
    h(
      'section',
      { class: 'kpis kpis-4', 'aria-label': 'Key figures' },
      kpi(
        'kpi-attendance',
        'Attendance (stream)',
        rate(city?.attendanceRate ?? null),
        'Present or late, of student-days in the selection',
        true,
      ),
      gapTile(
        'kpi-gap',
        'Need gap · attendance',
        d.gap.attendanceRate,
        'Highest-need (Q5) minus lowest-need (Q1) schools, stream',
      ),
      gapTile(
        'kpi-gap-chronic',
        'Need gap · chronic absence',
        d.gap.officialChronicAbsenceRate,
        'Q5 minus Q1, official 2018–19',
      ),
      kpi(
        'kpi-schools',
        'Schools',
        count(city?.schools ?? null),
        `${count(city?.students ?? null)} students reporting`,
      ),
    ),
  );
  const note = d.filtered
    ? ' Streaming chronic absence is computed per student over every streamed day, so it is shown only without filters.'
    : '';
  groupCard({
    id: 'equity-quintiles',
    title: 'By economic need quintile',
    sub: `Schools grouped into quintiles of the Economic Need Index (Q1 lowest need, Q5 highest).${note}`,
    rows: d.quintiles,
    first: { key: 'group', label: 'ENI quintile', format: quintileLabel },
  });
  groupCard({
    id: 'equity-boroughs',
    title: 'By borough',
    sub: `Streaming attendance over the selected days next to official figures of the same schools.${note}`,
    rows: d.boroughs,
    first: { key: 'group', label: 'Borough', format: plain },
  });
  groupCard({
    id: 'equity-districts',
    title: 'By district',
    sub: 'Geographic districts 1–32, and citywide districts 75 (special education), 79 (alternative) and 84 (charter).',
    rows: d.districts,
    first: { key: 'group', label: 'District', format: districtLabel },
    horizontal: true,
    height: d.districts.length > 12 ? 'chart-xl' : 'chart-md',
  });
  renderMap(d);
}

// ---------------------------------------------------------------------------------------------
// Map (SVG, no tiles): schools at their latitude/longitude, coloured by the chosen metric

const SVG = 'http://www.w3.org/2000/svg';
const svg = (tag, attrs = {}) => {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
};
const NYC = { west: -74.27, east: -73.68, south: 40.49, north: 40.93 };
const SCALE = ['--scale-1', '--scale-2', '--scale-3', '--scale-4', '--scale-5'];

function renderMap(d) {
  const metric = METRICS[d.metric] ?? METRICS.attendance;
  const values = d.schools
    .map((s) => s.value)
    .filter((v) => typeof v === 'number')
    .sort((a, b) => a - b);
  const cuts = [0.2, 0.4, 0.6, 0.8].map((q) => values[Math.min(values.length - 1, Math.floor(q * values.length))]);
  const bin = (v) => cuts.filter((c) => v > c).length;
  const kx = Math.cos((40.71 * Math.PI) / 180);
  const width = 760;
  const height = Math.round((width * (NYC.north - NYC.south)) / ((NYC.east - NYC.west) * kx));
  const x = (lon) => ((lon - NYC.west) / (NYC.east - NYC.west)) * width;
  const y = (lat) => ((NYC.north - lat) / (NYC.north - NYC.south)) * height;
  const map = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'map', role: 'img', id: 'equity-map-svg' });
  const summary = values.length
    ? `Map of ${d.schools.length} schools coloured by ${metric.label}: from ${rate(values[0])} to ${rate(values.at(-1))}, median ${rate(values[Math.floor(values.length / 2)])}. Darker is higher. The table below lists the extremes; the CSV has every school.`
    : `Map of schools: no ${metric.label} figures for this selection.`;
  map.setAttribute('aria-label', summary);
  map.append(svg('rect', { x: 0, y: 0, width, height, class: 'map-water' }));
  for (const s of d.schools) {
    if (s.longitude < NYC.west || s.longitude > NYC.east || s.latitude < NYC.south || s.latitude > NYC.north) continue;
    const known = typeof s.value === 'number';
    const dot = svg('circle', {
      cx: x(s.longitude).toFixed(1),
      cy: y(s.latitude).toFixed(1),
      r: 3.6,
      class: known ? 'dot' : 'dot dot-none',
      fill: known ? css(SCALE[bin(s.value)]) : 'none',
    });
    const title = svg('title');
    title.textContent = `${s.dbn} ${s.name} (${s.borough}): ${metric.label} ${rate(s.value)}`;
    dot.append(title);
    map.append(dot);
  }
  const legendItems = SCALE.map((_c, i) => {
    const lo = i === 0 ? values[0] : cuts[i - 1];
    const hi = i === SCALE.length - 1 ? values.at(-1) : cuts[i];
    return h(
      'li',
      {},
      h('span', { class: 'swatch', 'data-scale': String(i + 1) }),
      values.length ? `${rate(lo)} – ${rate(hi)}` : '—',
    );
  });
  legendItems.push(h('li', {}, h('span', { class: 'swatch swatch-none' }), 'No figure or s'));
  const ranked = d.schools.filter((s) => typeof s.value === 'number').sort((a, b) => b.value - a.value);
  const extremes = [...ranked.slice(0, 5), ...ranked.slice(-5).filter((s) => !ranked.slice(0, 5).includes(s))];
  const columns = [
    { key: 'dbn', label: 'DBN', link: (r) => `/school?dbn=${encodeURIComponent(r.dbn)}` },
    { key: 'name', label: 'School' },
    { key: 'borough', label: 'Borough' },
    { key: 'value', label: metric.label, num: true, format: rate },
  ];
  $('content').append(
    card({
      id: 'equity-map',
      title: `Map: ${metric.label}`,
      sub: 'Each dot is a school at its latitude and longitude, drawn here without any map tiles. Choose the metric with "Map metric" above; hover a dot for its school.',
      tools: [
        csvButton('the map', fileName(`equity-map-${d.metric}`), () => ({
          columns: [
            { key: 'dbn', label: 'dbn' },
            { key: 'name', label: 'school_name' },
            { key: 'borough', label: 'borough' },
            { key: 'latitude', label: 'latitude' },
            { key: 'longitude', label: 'longitude' },
            { key: 'value', label: d.metric },
          ],
          rows: d.schools,
        })),
      ],
      body: [
        h(
          'div',
          { class: 'map-layout' },
          h('div', { class: 'map-box' }, map),
          h(
            'div',
            { class: 'map-side' },
            h('p', { class: 'legend-title' }, metric.label),
            h('ul', { class: 'legend', 'aria-label': 'Map legend' }, legendItems),
            table(`Highest and lowest ${metric.label}`, columns, extremes),
          ),
        ),
      ],
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Schools

function renderSchools(d) {
  const columns = [
    { key: 'dbn', label: 'DBN', link: (r) => `/school?dbn=${encodeURIComponent(r.dbn)}` },
    { key: 'name', label: 'School' },
    { key: 'district', label: 'District', num: true, format: plain },
    { key: 'borough', label: 'Borough' },
    { key: 'enrollment', label: 'Enrollment', num: true, format: count },
    { key: 'economicNeedIndex', label: 'ENI', num: true, format: rate },
    { key: 'attendanceRate', label: 'Attendance (stream)', num: true, format: rate },
  ];
  const shown = d.schools;
  $('content').append(
    card({
      id: 'schools-table',
      title: `${formatCount(d.total)} schools`,
      sub:
        d.total > shown.length
          ? `Showing the first ${formatCount(shown.length)} by DBN.`
          : 'Sorted by DBN. Open a school for its page.',
      tools: [
        csvButton('the schools table', fileName('schools'), () => ({ columns: csvColumns(columns), rows: shown })),
      ],
      body: [table('Schools matching the filters and search', columns, shown, 'No school matches.')],
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// One school

function renderSchool(d) {
  const s = d.school;
  document.title = `${s.name} · Schools · Medallion`;
  $('page-title').textContent = s.name;
  $('page-lede').textContent =
    `${s.dbn} · ${districtLabel(s.district)} · ${s.borough}${s.address ? ` · ${s.address}` : ''}`;
  $('content').append(
    h('p', { class: 'back' }, h('a', { href: '/schools' }, '← All schools')),
    h(
      'section',
      { class: 'kpis kpis-4', 'aria-label': 'Key figures' },
      kpi(
        'kpi-attendance',
        'Attendance (stream)',
        rate(s.attendanceRate),
        `Over ${formatCount(d.daily.length)} school days streamed`,
        true,
      ),
      kpi('kpi-official', 'Attendance (official)', rate(s.officialAttendanceRate), 'NYC DOE end-of-year 2018–19'),
      kpi(
        'kpi-chronic',
        'Chronic absence (official)',
        rate(s.officialChronicAbsenceRate),
        'Present on fewer than 90% of days',
      ),
      kpi(
        'kpi-enrollment',
        'Enrollment',
        count(s.enrollment),
        s.eniQuintile ? `ENI quintile Q${s.eniQuintile}` : 'No ENI',
      ),
    ),
  );
  const daily = d.daily;
  const dailyColumns = [
    { key: 'date', label: 'Day', format: formatDay },
    { key: 'students', label: 'Students', num: true, format: count },
    { key: 'present', label: 'Present', num: true, format: count },
    { key: 'late', label: 'Late', num: true, format: count },
    { key: 'absent', label: 'Absent', num: true, format: count },
    { key: 'excused', label: 'Excused', num: true, format: count },
    { key: 'attendanceRate', label: 'Attendance', num: true, format: rate },
  ];
  const rates = daily.map((r) => r.attendanceRate).filter((v) => typeof v === 'number');
  $('content').append(
    card({
      id: 'school-daily',
      title: 'Daily attendance',
      sub: 'Share of students present or late each school day, from the stream.',
      tools: [
        csvButton('daily attendance', `school-${s.dbn}-daily.csv`, () => ({
          columns: csvColumns(dailyColumns),
          rows: daily,
        })),
      ],
      body: [
        chartBox(
          'school-daily-chart',
          rates.length
            ? `Line chart of daily attendance at ${s.name}: ${daily.length} days from ${formatDay(daily[0].date)} to ${formatDay(daily.at(-1).date)}, between ${rate(Math.min(...rates))} and ${rate(Math.max(...rates))}. The table has every day.`
            : `Line chart of daily attendance at ${s.name}: no published figures.`,
          'chart chart-md',
        ),
        h(
          'details',
          { class: 'more' },
          h('summary', {}, 'Every day as a table'),
          table('Daily attendance', dailyColumns, daily),
        ),
      ],
    }),
  );
  lineChart('school-daily-chart', {
    labels: daily.map((r) => r.date),
    series: [{ label: 'Attendance', raw: daily.map((r) => r.attendanceRate), color: '--series-stream' }],
    min: rates.length ? Math.max(0, Math.floor(Math.min(...rates) * 10) * 10 - 10) : 0,
    max: 100,
  });
  const demo = [
    { measure: 'Economic Need Index', value: s.economicNeedIndex },
    { measure: 'Students in poverty', value: s.sharePoverty },
    { measure: 'Students in temporary housing', value: s.shareTemporaryHousing },
    { measure: 'English language learners', value: s.shareEll },
    { measure: 'Students with disabilities', value: s.shareSwd },
  ];
  const demoColumns = [
    { key: 'measure', label: 'Measure' },
    { key: 'value', label: 'Share', num: true, format: rate },
  ];
  const attrs = [
    { measure: 'Managed by', value: s.managedBy },
    { measure: 'Category', value: s.category },
    { measure: 'Grades', value: s.grades },
    { measure: 'Status', value: s.status },
    { measure: 'Neighborhood', value: s.neighborhood },
  ];
  $('content').append(
    h(
      'div',
      { class: 'grid-2' },
      card({
        id: 'school-demographics',
        title: 'Demographics',
        sub: 'From the 2017–18 demographic snapshot and the temporary-housing report.',
        tools: [
          csvButton('demographics', `school-${s.dbn}-demographics.csv`, () => ({
            columns: csvColumns(demoColumns),
            rows: demo,
          })),
        ],
        body: [table('Demographics', demoColumns, demo)],
      }),
      card({
        id: 'school-attributes',
        title: 'School',
        sub: 'From the 2019–20 school locations file.',
        tools: [
          csvButton('school attributes', `school-${s.dbn}-attributes.csv`, () => ({
            columns: [
              { key: 'measure', label: 'attribute' },
              { key: 'value', label: 'value' },
            ],
            rows: attrs,
          })),
        ],
        body: [
          table(
            'School attributes',
            [
              { key: 'measure', label: 'Attribute' },
              { key: 'value', label: 'Value' },
            ],
            attrs,
          ),
        ],
      }),
    ),
  );
  const historyColumns = [
    { key: 'validFrom', label: 'Valid from', format: (v) => (v ? v.replace('T', ' ') : '—') },
    { key: 'validTo', label: 'Valid to', format: (v) => (v ? v.replace('T', ' ') : 'current') },
    { key: 'name', label: 'Name' },
    { key: 'district', label: 'District', num: true, format: plain },
    { key: 'status', label: 'Status', format: plain },
    { key: 'grades', label: 'Grades', format: plain },
    { key: 'address', label: 'Address', format: plain },
  ];
  $('content').append(
    card({
      id: 'school-history',
      title: 'History (SCD2)',
      sub: 'Every version of the school in gold.school_snapshot: a new version whenever a newer reference file changes it.',
      tools: [
        csvButton('history', `school-${s.dbn}-history.csv`, () => ({
          columns: csvColumns(historyColumns),
          rows: d.history,
        })),
      ],
      body: [
        table(
          'Versions of the school, newest first',
          historyColumns,
          d.history,
          'No snapshot rows for this school yet.',
        ),
      ],
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Streaming vs batch

function renderCompare(d) {
  const sum = d.summary;
  $('content').append(
    h(
      'section',
      { class: 'kpis kpis-4', 'aria-label': 'Key figures' },
      kpi(
        'kpi-compared',
        'Schools compared',
        count(sum.compared),
        `Over ${formatCount(d.days)} school days streamed`,
        true,
      ),
      kpi(
        'kpi-median',
        'Median gap',
        sum.medianAbsoluteDifference === null ? '—' : formatPoints(sum.medianAbsoluteDifference).replace('+', ''),
        'Absolute difference, stream vs official',
      ),
      kpi(
        'kpi-mean',
        'Mean difference',
        formatPoints(sum.meanDifference),
        'Stream minus official; positive: stream higher',
      ),
      kpi('kpi-within', 'Within 1 point', count(sum.within1Point), 'Schools whose figures agree within 1 pt'),
    ),
  );
  const columns = (first) => [
    first,
    { key: 'name', label: 'Name' },
    { key: 'borough', label: 'Borough' },
    { key: 'students', label: 'Students', num: true, format: count },
    { key: 'streamingAttendanceRate', label: 'Stream', num: true, format: rate },
    { key: 'officialAttendanceRate', label: 'Official', num: true, format: rate },
    { key: 'difference', label: 'Difference', num: true, format: formatPoints },
  ];
  const districtColumns = columns({ key: 'key', label: 'District', format: plain });
  const districts = [...d.districts].sort((a, b) => Number(a.key) - Number(b.key));
  $('content').append(
    card({
      id: 'compare-districts',
      title: 'Difference by district',
      sub: 'Streaming minus official attendance, in percentage points. Ranked in the table by the size of the difference.',
      tools: [
        csvButton('the district comparison', fileName('compare-districts'), () => ({
          columns: csvColumns(districtColumns),
          rows: d.districts,
        })),
      ],
      body: [
        chartBox(
          'compare-districts-chart',
          `Bar chart of streaming minus official attendance by district: ${districts
            .map((r) => `${districtLabel(r.key)} ${formatPoints(r.difference)}`)
            .join(', ')}.`,
          `chart ${districts.length > 12 ? 'chart-lg' : 'chart-md'}`,
        ),
        table('Districts ranked by the size of the difference', districtColumns, d.districts),
      ],
    }),
  );
  const diffs = districts.map((r) => (r.difference === null ? 0 : Math.abs(r.difference * 100)));
  const span = Math.max(1, Math.ceil(Math.max(0, ...diffs)));
  barChart('compare-districts-chart', {
    labels: districts.map((r) => districtLabel(r.key)),
    series: [
      {
        label: 'Stream − official',
        raw: districts.map((r) => r.difference),
        colors: districts.map((r) => css((r.difference ?? 0) >= 0 ? '--series-stream' : '--series-official')),
      },
    ],
    min: -span,
    max: span,
    points: true,
    labelsOn: districts.length <= 16,
  });
  const schoolColumns = columns({ key: 'key', label: 'DBN', link: (r) => `/school?dbn=${encodeURIComponent(r.key)}` });
  const top = d.schools.slice(0, 25);
  $('content').append(
    card({
      id: 'compare-schools',
      title: 'Schools with the largest differences',
      sub: `The 25 largest of ${formatCount(d.schools.length)} schools; the CSV has every school, ranked.`,
      tools: [
        csvButton('the school comparison', fileName('compare-schools'), () => ({
          columns: csvColumns(schoolColumns),
          rows: d.schools,
        })),
      ],
      body: [table('Schools ranked by the size of the difference', schoolColumns, top)],
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Trends

function trendCard(id, title, sub, points, areas, periodLabel) {
  const periods = [...new Set(points.map((p) => p.period))];
  const byKey = new Map(points.map((p) => [`${p.period}|${p.area}`, p]));
  const wide = periods.map((period) => {
    const row = { period };
    for (const a of areas) row[a] = byKey.get(`${period}|${a}`)?.attendanceRate ?? null;
    return row;
  });
  const columns = [
    { key: 'period', label: periodLabel, format: formatDay },
    ...areas.map((a) => ({ key: a, label: a, num: true, format: rate })),
  ];
  const rates = points.map((p) => p.attendanceRate).filter((v) => typeof v === 'number');
  const city = wide.map((r) => r[areas[0]]).filter((v) => typeof v === 'number');
  const label = rates.length
    ? `Line chart of ${title.toLowerCase()}: ${periods.length} ${periodLabel.toLowerCase()}s from ${formatDay(periods[0])} to ${formatDay(periods.at(-1))}; ${areas[0]} between ${rate(Math.min(...city))} and ${rate(Math.max(...city))}. The table has every figure.`
    : `Line chart of ${title.toLowerCase()}: no published figures.`;
  $('content').append(
    card({
      id,
      title,
      sub,
      tools: [
        csvButton(title, fileName(id), () => ({
          columns: [
            { key: 'period', label: 'period' },
            { key: 'area', label: 'area' },
            { key: 'schools', label: 'schools' },
            { key: 'studentDays', label: 'student_days' },
            { key: 'attendanceRate', label: 'attendance_rate' },
          ],
          rows: points,
        })),
      ],
      body: [
        chartBox(`${id}-chart`, label, 'chart chart-lg'),
        h(
          'details',
          { class: 'more' },
          h('summary', {}, `Every ${periodLabel.toLowerCase()} as a table`),
          table(title, columns, wide),
        ),
      ],
    }),
  );
  lineChart(`${id}-chart`, {
    labels: periods,
    series: areas.map((a) => ({
      label: a,
      raw: wide.map((r) => r[a]),
      color: AREA_COLORS[a] ?? '--series-city',
      width: a === 'New York City' ? 3 : 1.5,
    })),
    min: rates.length ? Math.max(0, Math.floor(Math.min(...rates) * 20) * 5 - 5) : 0,
    max: 100,
  });
}

function renderTrends(d) {
  const areas = d.areas;
  const words = filterWords();
  const scope = words.length ? `the selected schools (${words.join(', ')})` : 'all schools';
  trendCard('trends-daily', 'Daily attendance', `Each school day, for ${scope} and by borough.`, d.daily, areas, 'Day');
  trendCard(
    'trends-weekly',
    'Weekly attendance',
    'Each week (starting Monday): student-days present or late over student-days counted.',
    d.weekly,
    areas,
    'Week',
  );
}

// ---------------------------------------------------------------------------------------------
// Pipeline

function renderPipeline(d) {
  const layers = d.layers ?? { bronze: null, silver: null, quarantine: null, duplicates: null, late: null };
  $('content').append(
    h(
      'section',
      { class: 'kpis kpis-4', 'aria-label': 'Key figures' },
      kpi('kpi-bronze', 'Events in bronze', count(layers.bronze), 'Every record received', true),
      kpi('kpi-quarantine', 'Quarantined', count(layers.quarantine), `${count(layers.duplicates)} duplicates removed`),
      kpi('kpi-late', 'Late events', count(layers.late), 'Kept in silver, flagged late'),
      kpi(
        'kpi-tests',
        'Gold tests',
        `${formatCount(d.tests.pass)} pass`,
        `${formatCount(d.tests.warn)} warn · ${formatCount(d.tests.fail)} fail${d.tests.builtAt ? ` · built ${formatClock(d.tests.builtAt)}` : ''}`,
      ),
    ),
  );
  const layerRows = [
    { layer: 'bronze', dataset: 'attendance events', rows: layers.bronze },
    { layer: 'silver', dataset: 'attendance events', rows: layers.silver },
    { layer: 'quarantine', dataset: 'attendance events', rows: layers.quarantine },
    { layer: 'duplicates', dataset: 'attendance events', rows: layers.duplicates },
    { layer: 'silver (late)', dataset: 'attendance events', rows: layers.late },
    ...d.gold.map((g) => ({ layer: 'gold', dataset: g.table, rows: g.rows })),
  ];
  const layerColumns = [
    { key: 'layer', label: 'Layer' },
    { key: 'dataset', label: 'Dataset' },
    { key: 'rows', label: 'Rows', num: true, format: count },
  ];
  const rules = d.quarantineByRule;
  const ruleColumns = [
    { key: 'rule', label: 'Rule' },
    { key: 'rows', label: 'Rows', num: true, format: count },
  ];
  $('content').append(
    h(
      'div',
      { class: 'grid-2' },
      card({
        id: 'pipeline-layers',
        title: 'Rows per layer',
        sub: 'Event rows in the lake, and every gold table in the warehouse.',
        tools: [
          csvButton('rows per layer', 'pipeline-rows-per-layer.csv', () => ({
            columns: csvColumns(layerColumns),
            rows: layerRows,
          })),
        ],
        body: [table('Rows per layer and dataset', layerColumns, layerRows)],
      }),
      card({
        id: 'pipeline-quarantine',
        title: 'Quarantine by rule',
        sub: 'Records quarantined, by the contract rule they broke (a record may break several).',
        tools: [
          csvButton('quarantine by rule', 'pipeline-quarantine-by-rule.csv', () => ({
            columns: csvColumns(ruleColumns),
            rows: rules,
          })),
        ],
        body: [
          chartBox(
            'pipeline-quarantine-chart',
            rules.length
              ? `Bar chart of quarantined records by rule: ${rules.map((r) => `${r.rule} ${formatCount(r.rows)}`).join(', ')}.`
              : 'Bar chart of quarantined records by rule: none quarantined.',
            `chart ${rules.length > 6 ? 'chart-md' : 'chart-sm'}`,
          ),
          table('Quarantined records by rule', ruleColumns, rules, 'Nothing quarantined.'),
        ],
      }),
    ),
  );
  if (window.Chart && rules.length) {
    const { Chart } = window;
    const canvas = $('pipeline-quarantine-chart');
    new Chart(canvas, {
      type: 'bar',
      data: {
        labels: rules.map((r) => r.rule),
        datasets: [
          {
            label: 'Rows',
            data: rules.map((r) => r.rows),
            backgroundColor: css('--series-official'),
            borderRadius: 3,
            maxBarThickness: 22,
          },
        ],
      },
      options: {
        indexAxis: 'y',
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: false } },
        scales: {
          x: { grid: { color: css('--grid') }, border: { display: false } },
          y: { grid: { display: false }, ticks: { color: css('--text'), autoSkip: false } },
        },
      },
    });
  }
  renderQuality(d.quality);
  const runColumns = [
    { key: 'job', label: 'Job' },
    { key: 'status', label: 'Status', format: (v) => (v === 'success' ? 'success' : 'FAILED') },
    { key: 'startedAt', label: 'Started', format: (v) => `${formatDay(v)} ${formatClock(v)}` },
    { key: 'durationMs', label: 'Duration', num: true, format: (v) => formatDuration(v / 1000) },
    { key: 'records', label: 'Records', num: true, format: count },
    { key: 'error', label: 'Error', format: plain },
  ];
  $('content').append(
    card({
      id: 'pipeline-runs',
      title: 'Last runs',
      sub: 'From the run log, newest first: each job and each micro-batch step.',
      tools: [csvButton('last runs', 'pipeline-runs.csv', () => ({ columns: csvColumns(runColumns), rows: d.runs }))],
      body: [table('Job runs, newest first', runColumns, d.runs.slice(0, 15), 'No run yet.')],
    }),
  );
  renderLineage(d.lineage);
  const testColumns = [
    { key: 'name', label: 'Test' },
    { key: 'status', label: 'Status' },
    { key: 'failures', label: 'Failing rows', num: true, format: count },
  ];
  const tests = [...d.tests.results].sort(
    (a, b) => (a.status === 'pass') - (b.status === 'pass') || a.name.localeCompare(b.name),
  );
  $('content').append(
    card({
      id: 'pipeline-tests',
      title: 'Gold tests',
      sub: 'Results of the data tests of the last gold build (run_results.json).',
      tools: [csvButton('gold tests', 'pipeline-tests.csv', () => ({ columns: csvColumns(testColumns), rows: tests }))],
      body: [
        h(
          'details',
          { class: 'more' },
          h(
            'summary',
            {},
            `${formatCount(tests.length)} tests: ${formatCount(d.tests.pass)} pass, ${formatCount(d.tests.warn)} warn, ${formatCount(d.tests.fail)} fail`,
          ),
          table('Gold tests', testColumns, tests, 'No test results yet.'),
        ),
      ],
    }),
  );
}

const CHECK_ORDER = ['fail', 'error', 'warn', 'pass', 'skip'];

/** A check's headline figure in its unit: an age for freshness, a share for the others. */
function checkFigure(v, r) {
  if (v === null || v === undefined) return '—';
  if (r.unit === 'seconds') return formatDuration(v);
  if (r.type === 'drift') return `${(100 * v).toFixed(1)} pts`;
  return `${(100 * v).toFixed(1)}%`;
}

function renderQuality(report) {
  const columns = [
    { key: 'check', label: 'Check' },
    { key: 'type', label: 'Type' },
    { key: 'status', label: 'Status', format: (v) => (v === 'pass' || v === 'skip' ? v : v.toUpperCase()) },
    { key: 'observed', label: 'Figure', num: true, format: checkFigure },
    { key: 'threshold', label: 'Threshold', num: true, format: checkFigure },
    { key: 'message', label: 'Result', format: plain },
  ];
  const rows = (report?.results ?? [])
    .map((r) => ({ ...r, check: `${r.dataset}.${r.name}` }))
    .sort((a, b) => CHECK_ORDER.indexOf(a.status) - CHECK_ORDER.indexOf(b.status) || a.check.localeCompare(b.check));
  const c = report?.counts;
  $('content').append(
    card({
      id: 'pipeline-quality',
      title: 'Data-quality checks',
      sub: report
        ? `${report.status.toUpperCase()}: ${formatCount(c.pass)} pass, ${formatCount(c.warn)} warn, ${formatCount(c.fail + c.error)} fail, ${formatCount(c.skip)} skipped — checked ${formatDay(report.checkedAt)} ${formatClock(report.checkedAt)} (checks/*.yml: freshness, volume, null rate, drift).`
        : 'Freshness, volume, null rate and drift (checks/*.yml): not run yet — `medallion check`, or `medallion run` after a gold build.',
      tools: [
        csvButton('data-quality checks', 'pipeline-quality.csv', () => ({
          columns: csvColumns(columns),
          rows,
        })),
      ],
      body: [table('Data-quality checks, worst first', columns, rows, 'No check has run yet.')],
    }),
  );
}

const KIND_LABEL = {
  source: 'silver source',
  staging: 'staging view',
  mart: 'gold mart',
  snapshot: 'snapshot',
  model: 'model',
};

function renderLineage(lineage) {
  const { nodes, edges } = lineage;
  const columns = [...new Set(nodes.map((n) => n.depth))].sort((a, b) => a - b);
  const byDepth = columns.map((d) => nodes.filter((n) => n.depth === d));
  const colW = 232;
  const nodeW = 196;
  const nodeH = 30;
  const gapY = 14;
  const rows = Math.max(1, ...byDepth.map((c) => c.length));
  const width = Math.max(1, columns.length) * colW;
  const height = rows * (nodeH + gapY) + gapY;
  const pos = new Map();
  for (const [ci, col] of byDepth.entries()) {
    const offset = (height - col.length * (nodeH + gapY)) / 2;
    for (const [ri, n] of col.entries())
      pos.set(n.id, { x: ci * colW + 8, y: offset + ri * (nodeH + gapY) + gapY / 2 });
  }
  const graph = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    class: 'lineage',
    role: 'img',
    id: 'lineage-svg',
  });
  graph.setAttribute(
    'aria-label',
    nodes.length
      ? `Lineage graph of ${nodes.length} datasets and models, left to right from silver sources to gold. The table lists every edge.`
      : 'Lineage graph: no gold build manifest yet.',
  );
  for (const [from, to] of edges) {
    const a = pos.get(from);
    const b = pos.get(to);
    if (!a || !b) continue;
    const x1 = a.x + nodeW;
    const y1 = a.y + nodeH / 2;
    const x2 = b.x;
    const y2 = b.y + nodeH / 2;
    const mx = (x1 + x2) / 2;
    graph.append(svg('path', { d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, class: 'edge' }));
  }
  for (const n of nodes) {
    const p = pos.get(n.id);
    const g = svg('g', { class: `node node-${n.kind}`, transform: `translate(${p.x},${p.y})` });
    g.append(svg('rect', { width: nodeW, height: nodeH, rx: 6 }));
    const text = svg('text', { x: 10, y: nodeH / 2 + 4 });
    text.textContent = n.name.length > 26 ? `${n.name.slice(0, 25)}…` : n.name;
    const title = svg('title');
    title.textContent = `${n.name} (${KIND_LABEL[n.kind]})`;
    g.append(title, text);
    graph.append(g);
  }
  const names = new Map(nodes.map((n) => [n.id, n]));
  const edgeRows = edges.map(([from, to]) => ({
    from: names.get(from)?.name ?? from,
    to: names.get(to)?.name ?? to,
    kind: KIND_LABEL[names.get(to)?.kind] ?? '',
  }));
  const edgeColumns = [
    { key: 'from', label: 'From' },
    { key: 'to', label: 'To' },
    { key: 'kind', label: 'To (kind)' },
  ];
  const legend = h(
    'ul',
    { class: 'legend legend-row', 'aria-label': 'Lineage legend' },
    ['bronze', 'source', 'staging', 'mart', 'snapshot'].map((k) =>
      h('li', {}, h('span', { class: `swatch node-swatch-${k}` }), KIND_LABEL[k]),
    ),
  );
  $('content').append(
    card({
      id: 'pipeline-lineage',
      title: 'Lineage',
      sub: 'Datasets and models, left to right: bronze datasets in the lake, the silver tables loaded into the warehouse, then the gold project (manifest.json): staging views, marts and the snapshot.',
      tools: [
        csvButton('the lineage edges', 'pipeline-lineage.csv', () => ({
          columns: csvColumns(edgeColumns),
          rows: edgeRows,
        })),
      ],
      body: [
        legend,
        h('div', { class: 'lineage-box' }, graph),
        h(
          'details',
          { class: 'more' },
          h('summary', {}, `Every edge as a table (${edgeRows.length})`),
          table('Lineage edges', edgeColumns, edgeRows),
        ),
      ],
    }),
  );
}

// ---------------------------------------------------------------------------------------------

function start() {
  chartDefaults();
  document.title = `${page.title} · NYC school attendance · Medallion`;
  $('page-title').textContent = page.title;
  $('page-lede').textContent = page.lede;
  const path = location.pathname === '/school' ? '/schools' : location.pathname;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === path) a.setAttribute('aria-current', 'page');
  }
  setupFilters();
  load();
  liveUpdates(load);
  narrow.addEventListener('change', () => state.data && load());
}

start();
