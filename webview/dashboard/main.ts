/**
 * The analytics dashboard's page: totals, quality and volume over time (uPlot), the best
 * templates per tier, a sortable table of every template, and two templates or versions side by
 * side. Everything displayed goes through textContent.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type {
  AxisView,
  CompareRequest,
  CoverageView,
  DashboardData,
  DashboardHostMessage,
  DashboardState,
  DashboardWebviewMessage,
  DayView,
  SideView,
  TemplateView,
  UnrunTemplateView,
  VersionView,
} from '../../src/shared/dashboardProtocol';
import { el, vsCodeApi } from '../shared/dom';

const vscode = vsCodeApi<DashboardWebviewMessage, DashboardState>();
const app = document.getElementById('app')!;
let state: DashboardState = vscode.getState() ?? {};
let data: DashboardData | undefined;
const charts: uPlot[] = [];

function saveState(patch: Partial<DashboardState>): void {
  state = { ...state, ...patch };
  vscode.setState(state);
}

const fmt = {
  quality: (v: number | null) => (v === null ? '—' : v.toFixed(1)),
  percent: (v: number | null) => (v === null ? '—' : `${Math.round(v * 100)}%`),
  seconds: (v: number | null) => (v === null ? '—' : `${(v / 1000).toFixed(1)} s`),
  money: (v: number | null) => (v === null ? '—' : `$${v < 1 ? v.toFixed(4) : v.toFixed(2)}`),
  count: (v: number) => v.toLocaleString('en-US'),
};

/** The table's columns: label, how to read the value for sorting, how to show it. */
const COLUMNS: readonly { key: keyof TemplateView; label: string; show: (t: TemplateView) => string; numeric: boolean }[] = [
  { key: 'name', label: 'Template', show: (t) => t.name, numeric: false },
  { key: 'tier', label: 'Tier', show: (t) => t.tier, numeric: false },
  { key: 'usageCount', label: 'Runs', show: (t) => fmt.count(t.usageCount), numeric: true },
  { key: 'failed', label: 'Failed', show: (t) => fmt.count(t.failed), numeric: true },
  { key: 'cancelled', label: 'Cancelled', show: (t) => fmt.count(t.cancelled), numeric: true },
  { key: 'avgQuality', label: 'Avg quality', show: (t) => fmt.quality(t.avgQuality), numeric: true },
  { key: 'minQuality', label: 'Min', show: (t) => fmt.quality(t.minQuality), numeric: true },
  { key: 'maxQuality', label: 'Max', show: (t) => fmt.quality(t.maxQuality), numeric: true },
  { key: 'approvalRate', label: 'Approved', show: (t) => fmt.percent(t.approvalRate), numeric: true },
  { key: 'avgDurationMs', label: 'Avg time', show: (t) => fmt.seconds(t.avgDurationMs), numeric: true },
  { key: 'avgCostUsd', label: 'Avg cost', show: (t) => fmt.money(t.avgCostUsd), numeric: true },
  { key: 'totalCostUsd', label: 'Total cost', show: (t) => fmt.money(t.totalCostUsd), numeric: true },
  { key: 'savedUsd', label: 'Cache saved', show: (t) => fmt.money(t.savedUsd), numeric: true },
  { key: 'trend', label: 'Trend', show: (t) => t.trend, numeric: true },
  { key: 'diversity', label: 'Diversity', show: (t) => (t.diversity === null ? '—' : t.diversity.toFixed(2)), numeric: true },
  { key: 'nearDuplicates', label: 'Near-dups', show: (t) => fmt.count(t.nearDuplicates), numeric: true },
];

function render(d: DashboardData): void {
  data = d;
  for (const c of charts.splice(0)) c.destroy();
  const header = el('header', { class: 'top' });
  const title = el('div');
  title.append(
    el('h1', {}, 'Analytics'),
    el('p', { class: 'status' }, `${fmt.count(d.templates.length)} templates · ${fmt.count(d.totals.conversations)} conversations · ${fmt.count(d.totals.generations)} generations · ${fmt.money(d.totals.costUsd)} · computed in ${Math.round(d.computeMs)} ms`),
  );
  const exportButton = el('vscode-button', { id: 'export-csv', secondary: '' }, 'Export CSV');
  exportButton.addEventListener('click', () => vscode.postMessage({ type: 'exportCsv' }));
  header.append(title, exportButton);

  const charts_ = el('section', { class: 'charts' });
  charts_.append(chartBlock('quality-chart', 'Quality over time', d.series, d.axis, 'quality'), chartBlock('volume-chart', 'Volume over time', d.series, d.axis, 'volume'));

  const top = el('section', { 'aria-labelledby': 'top-heading' });
  top.append(el('h2', { id: 'top-heading' }, 'Top performers'));
  if (d.recommendations.length === 0) top.append(el('p', { class: 'status' }, 'Templates are ranked once they have 5 scored conversations.'));
  else {
    const list = el('ul', { class: 'recommendations' });
    for (const r of d.recommendations) {
      const li = el('li');
      li.append(el('span', { class: 'tier' }, r.tier), document.createTextNode(` ${r.text}`));
      list.append(li);
    }
    top.append(list);
  }

  const table = el('section', { 'aria-labelledby': 'templates-heading', id: 'templates-section' });
  table.append(el('h2', { id: 'templates-heading' }, 'Templates'), templateTable(d.templates, d.unrun ?? []));

  // New data (a generation landed) redraws the figures but keeps the comparison and its form as
  // they are: choices, open menus and focus there survive a refresh.
  const existing = document.getElementById('compare');
  let compare: HTMLElement;
  if (existing) compare = existing;
  else {
    compare = el('section', { 'aria-labelledby': 'compare-heading', id: 'compare' });
    compare.append(el('h2', { id: 'compare-heading' }, 'Compare'), compareForm(d.templates), el('div', { id: 'comparison' }));
  }
  const coverageSection = el('section', { 'aria-labelledby': 'coverage-heading', id: 'coverage-section' });
  coverageSection.append(el('h2', { id: 'coverage-heading' }, 'Coverage'));
  if (d.coverage.length === 0) coverageSection.append(el('p', { class: 'status' }, 'Coverage appears once a batch varies values (Generate Batch… with a value plan).'));
  else for (const c of d.coverage) coverageSection.append(coverageBlock(c));

  const agreementSection = agreementBlock(d.templates);

  const focused = (document.activeElement as HTMLElement | null)?.dataset;
  const focusedSort = focused?.sort;
  const focusedFill = focused?.fill;
  const focusedThreshold = focused?.threshold;
  app.replaceChildren(header, charts_, top, coverageSection, agreementSection, compare, table);
  if (focusedSort) table.querySelector<HTMLElement>(`[data-sort="${focusedSort}"]`)?.focus();
  if (focusedFill) coverageSection.querySelector<HTMLElement>(`[data-fill="${focusedFill}"]`)?.focus();
  if (focusedThreshold) agreementSection.querySelector<HTMLElement>(`[data-threshold="${CSS.escape(focusedThreshold)}"]`)?.focus();
  drawCharts();
  const comparisonChart = document.querySelector<HTMLElement>('#compare-chart');
  if (comparisonChart && lastSides) showComparison(lastSides.sides, lastSides.axis);
}

let lastSides: { sides: readonly [SideView, SideView]; axis: AxisView } | undefined;

/**
 * Learning from the reviewers: per template with 20 reviewed conversations, how well its score
 * predicts the reviews (AUC, accuracy at its flag threshold) and the threshold that agrees best,
 * with a button writing it into the template (docs/quality.md).
 */
function agreementBlock(templates: readonly TemplateView[]): HTMLElement {
  const section = el('section', { 'aria-labelledby': 'agreement-heading', id: 'agreement-section' });
  section.append(el('h2', { id: 'agreement-heading' }, 'Learning from the reviewers'));
  const known = templates.filter((t) => t.reviewAgreement !== null);
  if (known.length === 0) {
    section.append(el('p', { class: 'status' }, 'A template’s agreement with its reviewers appears once 20 of its scored conversations are reviewed.'));
    return section;
  }
  const table = el('table', { class: 'agreement' });
  table.append(el('caption', {}, 'How well the score predicts approved against rejected or needs revision (latest review of each conversation)'));
  const hr = el('tr');
  for (const [label, num] of [['Template', false], ['Reviewed', true], ['AUC', true], ['Accuracy', true], ['Flag threshold', true], ['Suggested', true], ['', false]] as const) {
    hr.append(el('th', { scope: 'col', ...(num ? { class: 'num' } : {}) }, label));
  }
  const thead = el('thead');
  thead.append(hr);
  const body = el('tbody');
  for (const t of known) {
    const a = t.reviewAgreement!;
    const effective = Math.max(6, a.suggestedThreshold);
    const same = Math.round(effective * 10) === Math.round(a.threshold * 10);
    const tr = el('tr', { 'data-file': t.file });
    const name = el('th', { scope: 'row' });
    const open = el('button', { type: 'button', class: 'link', title: t.file }, t.name);
    open.addEventListener('click', () => vscode.postMessage({ type: 'open', file: t.file }));
    name.append(open);
    const use = el(
      'vscode-button',
      { 'data-threshold': t.file, secondary: '', ...(same ? { disabled: '' } : {}), title: same ? 'The template already flags at this threshold' : `Write quality_threshold: ${a.suggestedThreshold / 10} into ${t.file}` },
      'Use suggested threshold',
    );
    use.addEventListener('click', () => !same && vscode.postMessage({ type: 'useSuggestedThreshold', file: t.file }));
    const action = el('td');
    action.append(use);
    tr.append(
      name,
      el('td', { class: 'num' }, fmt.count(a.reviewed)),
      el('td', { class: 'num', title: a.auc === null ? 'Every review made the same decision' : 'The chance an approved conversation scores above a rejected one' }, a.auc === null ? '—' : a.auc.toFixed(2)),
      el('td', { class: 'num' }, fmt.percent(a.accuracy)),
      el('td', { class: 'num' }, a.threshold.toFixed(1)),
      el('td', { class: 'num', ...(a.suggestedThreshold < 6 ? { title: 'Below the floor of 6: the template would flag at 6' } : {}) }, a.suggestedThreshold.toFixed(1)),
      action,
    );
    body.append(tr);
  }
  table.append(thead, body);
  section.append(table);
  return section;
}

/** A titled chart area; drawn once the page is laid out (uPlot needs a width). */
function chartBlock(id: string, title: string, series: readonly DayView[], axis: AxisView, kind: 'quality' | 'volume' | 'compare', sides?: readonly SideView[]): HTMLElement {
  const block = el('figure', { class: 'chart' });
  const latest = series.filter((p) => p.avgQuality !== null).at(-1);
  const per = axis.unit;
  const periods = `${series.length} ${per}${series.length === 1 ? '' : 's'}`;
  const span = axis.ticks.length > 0 ? `; time axis ${axis.ticks[0]!.label} to ${axis.ticks.at(-1)!.label}` : '';
  const summary =
    kind === 'quality'
      ? `Average quality per ${per} over ${periods}${latest ? `; latest ${latest.avgQuality!.toFixed(1)} on ${latest.day}` : ''}${span}`
      : kind === 'volume'
        ? `Generations per ${per} over ${periods}, ${series.reduce((n, p) => n + p.generations, 0)} in all, ${series.reduce((n, p) => n + p.failed, 0)} failed, ${series.reduce((n, p) => n + p.cancelled, 0)} cancelled${span}`
        : `Average quality per ${per}: ${sides?.map((s) => s.label).join(' against ')}${span}`;
  // The ticks as text too: the canvas is not readable, and tests check what the axis shows.
  const holder = el('div', { id, class: 'plot', role: 'img', 'aria-label': summary, 'data-axis-unit': axis.unit, 'data-axis-ticks': axis.ticks.map((t) => t.label).join('|') });
  block.append(el('figcaption', {}, title), holder);
  pending.push({ holder, series, axis, kind, ...(sides ? { sides } : {}) });
  return block;
}

const pending: { holder: HTMLElement; series: readonly DayView[]; axis: AxisView; kind: 'quality' | 'volume' | 'compare'; sides?: readonly SideView[] }[] = [];

function colour(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

/** A period's start (YYYY-MM-DD or YYYY-MM-DDTHH:00) as the axis counts it: its local time read as UTC (as core's periodSeconds). */
const secondsOf = (period: string) =>
  Date.UTC(Number(period.slice(0, 4)), Number(period.slice(5, 7)) - 1, Number(period.slice(8, 10)), period.length > 10 ? Number(period.slice(11, 13)) : 0) / 1000;

function drawCharts(): void {
  const fg = colour('--vscode-foreground', '#ccc');
  const grid = colour('--vscode-panel-border', 'rgba(128,128,128,0.3)');
  const axis = (label: string): uPlot.Axis => ({ stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, label, labelSize: 18, font: '11px sans-serif', labelFont: '11px sans-serif' });
  for (const { holder, series, axis: time, kind, sides } of pending.splice(0)) {
    // The time axis spans the data (the host computes it): its range and ticks as given, never
    // uPlot's own guess, which stretched one day of data over years.
    const x = { time: true, range: (): uPlot.Range.MinMax => [time.min, time.max] };
    const timeAxis: uPlot.Axis = { ...axis(''), splits: () => time.ticks.map((t) => t.at), values: () => time.ticks.map((t) => t.label) };
    const width = Math.max(280, holder.clientWidth || 480);
    const common = {
      width,
      height: 220,
      // Periods are local calendar days and hours, given as UTC: show them as such whatever the time zone.
      tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
    };
    let chart: uPlot;
    if (kind === 'compare' && sides) {
      const days = [...new Set(sides.flatMap((s) => s.series.map((p) => p.day)))].sort();
      const line = (s: SideView) => days.map((d) => s.series.find((p) => p.day === d)?.avgQuality ?? null);
      chart = new uPlot(
        {
          ...common,
          scales: { x, y: { range: [0, 10] } },
          axes: [timeAxis, axis('quality')],
          series: [{}, { label: sides[0]!.label, stroke: colour('--vscode-charts-blue', '#3794ff'), width: 2, spanGaps: true }, { label: sides[1]!.label, stroke: colour('--vscode-charts-orange', '#d18616'), width: 2, spanGaps: true }],
        },
        [days.map(secondsOf), line(sides[0]!), line(sides[1]!)],
        holder,
      );
    } else if (kind === 'quality') {
      chart = new uPlot(
        {
          ...common,
          scales: { x, y: { range: [0, 10] } },
          axes: [timeAxis, axis('avg quality')],
          series: [{}, { label: 'Average quality', stroke: colour('--vscode-charts-green', '#89d185'), width: 2, spanGaps: true, points: { show: series.length < 40 } }],
        },
        [series.map((p) => secondsOf(p.day)), series.map((p) => p.avgQuality)],
        holder,
      );
    } else {
      const bars = uPlot.paths.bars!({ size: [0.6, 40] });
      chart = new uPlot(
        {
          ...common,
          scales: { x },
          axes: [timeAxis, axis(`per ${time.unit}`)],
          series: [
            {},
            { label: 'Generations', stroke: colour('--vscode-charts-blue', '#3794ff'), fill: colour('--vscode-charts-blue', '#3794ff'), paths: bars, points: { show: false } },
            { label: 'Failed', stroke: colour('--vscode-charts-red', '#f14c4c'), fill: colour('--vscode-charts-red', '#f14c4c'), paths: bars, points: { show: false } },
            { label: 'Cancelled', stroke: colour('--vscode-charts-yellow', '#cca700'), fill: colour('--vscode-charts-yellow', '#cca700'), paths: bars, points: { show: false } },
          ],
        },
        [series.map((p) => secondsOf(p.day)), series.map((p) => p.generations), series.map((p) => p.failed), series.map((p) => p.cancelled)],
        holder,
      );
    }
    charts.push(chart);
  }
}

/** The figures of every template, then the workspace's templates never generated from (always last). */
function templateTable(templates: readonly TemplateView[], unrun: readonly UnrunTemplateView[]): HTMLElement {
  const sort = state.sort ?? { key: 'avgQuality', descending: true };
  const column = COLUMNS.find((c) => c.key === sort.key) ?? COLUMNS[4]!;
  // Trends sort by meaning, not alphabetically.
  const rank = (t: TemplateView) => (column.key === 'trend' ? { declining: -1, stable: 0, improving: 1 }[t.trend] : t[column.key]);
  const sorted = [...templates].sort((a, b) => {
    const [x, y] = [rank(a), rank(b)];
    // Missing values sort last either way.
    if (x === null && y === null) return 0;
    if (x === null) return 1;
    if (y === null) return -1;
    const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return sort.descending ? -order : order;
  });
  const table = el('table', { id: 'templates' });
  const head = el('tr');
  for (const c of COLUMNS) {
    const th = el('th', { scope: 'col', 'aria-sort': c.key === column.key ? (sort.descending ? 'descending' : 'ascending') : 'none', class: c.numeric ? 'num' : '' });
    const button = el('button', { type: 'button', 'data-sort': c.key }, c.label + (c.key === column.key ? (sort.descending ? ' ▼' : ' ▲') : ''));
    button.addEventListener('click', () => {
      saveState({ sort: { key: c.key, descending: c.key === column.key ? !sort.descending : c.numeric } });
      const replaced = templateTable(templates, unrun);
      table.replaceWith(replaced);
      replaced.querySelector<HTMLElement>(`[data-sort="${c.key}"]`)?.focus();
    });
    th.append(button);
    head.append(th);
  }
  const body = el('tbody');
  for (const t of sorted) {
    const tr = el('tr');
    for (const c of COLUMNS) {
      const td = el('td', c.numeric ? { class: 'num' } : {});
      if (c.key === 'name') {
        const open = el('button', { type: 'button', class: 'link', title: t.file }, t.name);
        open.addEventListener('click', () => vscode.postMessage({ type: 'open', file: t.file }));
        td.append(open);
      } else td.textContent = c.show(t);
      if (c.key === 'trend') td.className = `trend-${t.trend}`;
      tr.append(td);
    }
    body.append(tr);
  }
  for (const t of unrun) {
    const tr = el('tr', { class: 'unrun' });
    for (const c of COLUMNS) {
      const td = el('td', c.numeric ? { class: 'num' } : {});
      if (c.key === 'name') {
        const open = el('button', { type: 'button', class: 'link', title: t.file }, t.name);
        open.addEventListener('click', () => vscode.postMessage({ type: 'open', file: t.file }));
        td.append(open);
      } else td.textContent = c.key === 'tier' ? t.tier : c.key === 'usageCount' ? 'no runs' : '—';
      tr.append(td);
    }
    body.append(tr);
  }
  const thead = el('thead');
  thead.append(head);
  table.append(thead, body);
  return table;
}

/** How full a combination is, in five steps: a class for its colour and a word for its title. */
function fullness(approved: number, target: number): { level: string; word: string } {
  if (target === 0 || approved >= target) return { level: 'full', word: 'at target' };
  if (approved === 0) return { level: 'empty', word: 'none approved' };
  const ratio = approved / target;
  return ratio < 1 / 3 ? { level: 'low', word: 'under a third' } : ratio < 2 / 3 ? { level: 'mid', word: 'under two thirds' } : { level: 'high', word: 'nearly there' };
}

const plural = (n: number, one: string, many = `${one}s`) => `${fmt.count(n)} ${n === 1 ? one : many}`;

/**
 * One template's coverage: a row per value for one varied variable, a heatmap table for two
 * (rows: the first variable's values, columns: the second's), the least covered combinations
 * for more; and Fill gaps. Every count is text; colour only repeats it.
 */
function coverageBlock(c: CoverageView): HTMLElement {
  const block = el('article', { class: 'coverage', 'data-template': String(c.template), 'aria-labelledby': `coverage-${c.template}` });
  const head = el('header', { class: 'coverage-head' });
  const title = el('div');
  const name = el('h3', { id: `coverage-${c.template}` });
  const open = el('button', { type: 'button', class: 'link', title: c.file }, c.name);
  open.addEventListener('click', () => vscode.postMessage({ type: 'open', file: c.file }));
  name.append(open);
  const combinations = c.cells.length;
  const summary =
    c.gapCells === 0
      ? `${c.varied.join(' × ')}: all ${plural(combinations, 'value set')} have ${fmt.count(c.target)} approved`
      : `${c.varied.join(' × ')}: ${fmt.count(c.gapCells)} of ${plural(combinations, 'value set')} under ${fmt.count(c.target)} approved, ${plural(c.lacking, 'conversation')} lacking`;
  title.append(name, el('p', { class: 'status' }, summary));
  const fill = el('vscode-button', { 'data-fill': String(c.template), ...(c.gapCells === 0 ? { disabled: '' } : {}), title: c.gapCells === 0 ? 'No gaps' : `Generate ${plural(c.lacking, 'conversation')} for the ${plural(c.gapCells, 'value set')} under the target (you confirm the value sets and cost first)` }, 'Fill gaps…');
  fill.addEventListener('click', () => c.gapCells > 0 && vscode.postMessage({ type: 'fillGaps', template: c.template }));
  head.append(title, fill);
  block.append(head);
  if (c.varied.length === 1) block.append(coverageBars(c));
  else if (c.varied.length === 2) block.append(coverageHeatmap(c));
  else block.append(leastCovered(c));
  return block;
}

/** One varied variable: a row per value, its approved count as text and as a bar against the target. */
function coverageBars(c: CoverageView): HTMLElement {
  const table = el('table', { class: 'coverage-bars' });
  table.append(el('caption', {}, `Approved conversations per ${c.varied[0]!} value, against a target of ${fmt.count(c.target)}`));
  const thead = el('thead');
  const hr = el('tr');
  hr.append(el('th', { scope: 'col' }, c.varied[0]!), el('th', { scope: 'col', class: 'num' }, 'Approved'), el('th', { scope: 'col', class: 'num' }, 'Requested'), el('th', { scope: 'col', class: 'num' }, 'Lacking'), el('th', { scope: 'col' }, 'Coverage'));
  thead.append(hr);
  const body = el('tbody');
  for (const cell of c.cells) {
    const { level, word } = fullness(cell.approved, c.target);
    const tr = el('tr');
    const track = el('div', { class: 'bar-track', 'aria-hidden': 'true' });
    const bar = el('div', { class: `bar ${level}` });
    bar.style.width = `${c.target === 0 ? 100 : Math.min(100, (cell.approved / c.target) * 100)}%`;
    track.append(bar);
    const barCell = el('td', { class: 'bar-cell', title: word });
    barCell.append(track);
    tr.append(
      el('th', { scope: 'row' }, c.domains[0]![cell.at[0]!]!),
      el('td', { class: 'num' }, fmt.count(cell.approved)),
      el('td', { class: 'num' }, fmt.count(cell.requested)),
      el('td', { class: `num${cell.lacks > 0 ? ' lacks' : ''}` }, cell.lacks > 0 ? fmt.count(cell.lacks) : '—'),
      barCell,
    );
    body.append(tr);
  }
  table.append(thead, body);
  return table;
}

/** Two varied variables: a table, a row per value of the first and a column per value of the second. */
function coverageHeatmap(c: CoverageView): HTMLElement {
  const [rows, columns] = [c.domains[0]!, c.domains[1]!];
  const byAt = new Map(c.cells.map((cell) => [`${cell.at[0]},${cell.at[1]}`, cell]));
  const wrap = el('div', { class: 'heatmap-wrap' });
  const table = el('table', { class: 'heatmap' });
  table.append(el('caption', {}, `Approved / requested conversations per ${c.varied[0]!} (rows) and ${c.varied[1]!} (columns); target ${fmt.count(c.target)} approved each`));
  const thead = el('thead');
  const hr = el('tr');
  hr.append(el('th', { scope: 'col', class: 'corner' }, `${c.varied[0]!} ↓ · ${c.varied[1]!} →`));
  for (const column of columns) hr.append(el('th', { scope: 'col' }, column));
  thead.append(hr);
  const body = el('tbody');
  rows.forEach((row, r) => {
    const tr = el('tr');
    tr.append(el('th', { scope: 'row' }, row));
    columns.forEach((column, k) => {
      const cell = byAt.get(`${r},${k}`);
      if (!cell) {
        tr.append(el('td', { class: 'heat unplanned', title: `${row} × ${column}: never planned` }, '—'));
        return;
      }
      const { level, word } = fullness(cell.approved, c.target);
      const td = el('td', { class: `heat ${level}`, title: `${row} × ${column}: ${fmt.count(cell.approved)} approved of ${fmt.count(cell.requested)} requested, ${fmt.count(cell.total)} generated; ${word}` });
      td.append(el('span', { class: 'counts' }, `${fmt.count(cell.approved)} / ${fmt.count(cell.requested)}`));
      if (cell.lacks > 0) td.append(el('span', { class: 'lacks' }, `needs ${fmt.count(cell.lacks)}`));
      tr.append(td);
    });
    body.append(tr);
  });
  table.append(thead, body);
  wrap.append(table, coverageLegend(c.target));
  return wrap;
}

/** More than two varied variables: the least covered combinations, as a table. */
function leastCovered(c: CoverageView, shown = 10): HTMLElement {
  const sorted = [...c.cells].sort((a, b) => b.lacks - a.lacks || a.approved - b.approved);
  const table = el('table', { class: 'least-covered' });
  table.append(el('caption', {}, `The ${Math.min(shown, sorted.length)} least covered of ${plural(sorted.length, 'combination')}; target ${fmt.count(c.target)} approved each`));
  const thead = el('thead');
  const hr = el('tr');
  for (const name of c.varied) hr.append(el('th', { scope: 'col' }, name));
  hr.append(el('th', { scope: 'col', class: 'num' }, 'Approved'), el('th', { scope: 'col', class: 'num' }, 'Requested'), el('th', { scope: 'col', class: 'num' }, 'Lacking'));
  thead.append(hr);
  const body = el('tbody');
  for (const cell of sorted.slice(0, shown)) {
    const tr = el('tr');
    cell.at.forEach((index, i) => tr.append(el('td', {}, c.domains[i]![index]!)));
    tr.append(
      el('td', { class: `num heat ${fullness(cell.approved, c.target).level}` }, fmt.count(cell.approved)),
      el('td', { class: 'num' }, fmt.count(cell.requested)),
      el('td', { class: `num${cell.lacks > 0 ? ' lacks' : ''}` }, cell.lacks > 0 ? fmt.count(cell.lacks) : '—'),
    );
    body.append(tr);
  }
  table.append(thead, body);
  return table;
}

function coverageLegend(target: number): HTMLElement {
  const legend = el('ul', { class: 'coverage-legend', 'aria-label': 'Colour key' });
  const steps: [string, string][] = [
    ['empty', 'none approved'],
    ['low', 'under ⅓'],
    ['mid', 'under ⅔'],
    ['high', `under ${fmt.count(target)}`],
    ['full', 'at target'],
  ];
  for (const [level, text] of steps) {
    const li = el('li');
    li.append(el('span', { class: `swatch heat ${level}`, 'aria-hidden': 'true' }), document.createTextNode(text));
    legend.append(li);
  }
  return legend;
}

/**
 * What Compare starts with: the last comparison when both its templates still exist and differ;
 * else the two templates with the most runs (two different ones, never the same twice).
 */
function compareDefaults(templates: readonly TemplateView[], prior: CompareRequest | undefined): { a?: string; b?: string } {
  const known = new Set(templates.map((t) => t.id));
  if (prior?.kind === 'templates' && prior.a !== prior.b && known.has(prior.a) && known.has(prior.b)) return { a: String(prior.a), b: String(prior.b) };
  const byRuns = [...templates].sort((x, y) => y.usageCount - x.usageCount || x.name.localeCompare(y.name)).map((t) => String(t.id));
  const a = prior?.kind === 'versions' && known.has(prior.template) ? String(prior.template) : byRuns[0];
  return { ...(a !== undefined ? { a } : {}), ...(byRuns.find((id) => id !== a) !== undefined ? { b: byRuns.find((id) => id !== a)! } : {}) };
}

function compareForm(templates: readonly TemplateView[]): HTMLElement {
  const form = el('form', { class: 'compare-form' });
  const select = (id: string, label: string, options: readonly { value: string; text: string }[], selected?: string) => {
    const wrap = el('label', { for: id }, label);
    const s = el('select', { id });
    for (const o of options) {
      const option = el('option', { value: o.value }, o.text);
      if (o.value === selected) option.selected = true;
      s.append(option);
    }
    return [wrap, s] as const;
  };
  const mode = select('compare-kind', 'Compare', [
    { value: 'templates', text: 'two templates' },
    { value: 'versions', text: 'two versions of a template' },
  ], state.compare?.kind);
  const byQuality = [...templates].sort((a, b) => (b.avgQuality ?? -1) - (a.avgQuality ?? -1)).map((t) => ({ value: String(t.id), text: `${t.name} (${fmt.quality(t.avgQuality)})` }));
  const { a, b } = compareDefaults(templates, state.compare);
  const first = select('compare-a', 'A', byQuality, a);
  const second = select('compare-b', 'B', byQuality, b);
  const go = el('vscode-button', { id: 'compare-go' }, 'Compare');
  const versionsHolder = el('span', { class: 'versions' });
  const update = () => {
    const versionsMode = mode[1].value === 'versions';
    second[0].hidden = versionsMode;
    second[1].hidden = versionsMode;
    first[0].textContent = versionsMode ? 'Template' : 'A';
    versionsHolder.replaceChildren();
    if (versionsMode) vscode.postMessage({ type: 'versions', template: Number(first[1].value) });
  };
  mode[1].addEventListener('change', update);
  first[1].addEventListener('change', () => mode[1].value === 'versions' && update());
  go.addEventListener('click', () => {
    let request: CompareRequest | undefined;
    if (mode[1].value === 'templates') request = { kind: 'templates', a: Number(first[1].value), b: Number(second[1].value) };
    else {
      const [a, b] = [...versionsHolder.querySelectorAll('select')].map((s) => Number(s.value));
      if (a !== undefined && b !== undefined) request = { kind: 'versions', template: Number(first[1].value), a, b };
    }
    if (!request) return;
    saveState({ compare: request });
    vscode.postMessage({ type: 'compare', request });
  });
  form.addEventListener('submit', (e) => e.preventDefault());
  form.append(...mode, ...first, ...second, versionsHolder, go);
  queueMicrotask(update);
  return form;
}

function showVersions(template: number, versions: readonly VersionView[]): void {
  const holder = document.querySelector<HTMLElement>('.compare-form .versions');
  const chosen = document.querySelector<HTMLSelectElement>('#compare-a');
  const mode = document.querySelector<HTMLSelectElement>('#compare-kind');
  // A late answer for another template, or after switching back to two templates, is dropped.
  if (!holder || mode?.value !== 'versions' || Number(chosen?.value) !== template) return;
  const options = versions.map((v) => ({ value: String(v.id), text: `version ${v.number} · ${new Date(v.createdAt).toLocaleDateString()}` }));
  if (options.length < 2) {
    holder.replaceChildren(el('span', { class: 'status' }, 'This template has only one version.'));
    return;
  }
  const make = (id: string, label: string, selected: string) => {
    const l = el('label', { for: id }, label);
    const s = el('select', { id });
    for (const o of options) {
      const option = el('option', { value: o.value }, o.text);
      if (o.value === selected) option.selected = true;
      s.append(option);
    }
    return [l, s];
  };
  // The versions last compared when they belong to this template; else the two newest.
  const saved = state.compare?.kind === 'versions' && state.compare.template === template ? state.compare : undefined;
  const has = (id: number | undefined) => id !== undefined && options.some((o) => o.value === String(id));
  const a = saved && has(saved.a) ? String(saved.a) : options.at(-2)!.value;
  const b = saved && has(saved.b) ? String(saved.b) : options.at(-1)!.value;
  holder.replaceChildren(...make('version-a', 'A', a), ...make('version-b', 'B', b));
}

function showComparison(sides: readonly [SideView, SideView], axis: AxisView): void {
  lastSides = { sides, axis };
  const holder = document.getElementById('comparison');
  if (!holder) return;
  const rows: [string, (f: SideView['figures']) => string][] = [
    ['Runs', (f) => fmt.count(f.usageCount)],
    ['Failed', (f) => fmt.count(f.failed)],
    ['Cancelled', (f) => fmt.count(f.cancelled)],
    ['Conversations', (f) => fmt.count(f.conversations)],
    ['Avg quality', (f) => fmt.quality(f.avgQuality)],
    ['Min – max', (f) => `${fmt.quality(f.minQuality)} – ${fmt.quality(f.maxQuality)}`],
    ['Approved', (f) => fmt.percent(f.approvalRate)],
    ['Avg time', (f) => fmt.seconds(f.avgDurationMs)],
    ['Avg cost', (f) => fmt.money(f.avgCostUsd)],
    ['Total cost', (f) => fmt.money(f.totalCostUsd)],
    ['Trend', (f) => f.trend],
  ];
  const table = el('table', { class: 'comparison', id: 'comparison-table' });
  const head = el('tr');
  head.append(el('th', { scope: 'col' }, ''), el('th', { scope: 'col' }, sides[0].label), el('th', { scope: 'col' }, sides[1].label));
  const thead = el('thead');
  thead.append(head);
  const body = el('tbody');
  for (const [label, show] of rows) {
    const tr = el('tr');
    tr.append(el('th', { scope: 'row' }, label), el('td', { class: 'num' }, show(sides[0].figures)), el('td', { class: 'num' }, show(sides[1].figures)));
    body.append(tr);
  }
  table.append(thead, body);
  holder.replaceChildren(table, chartBlock('compare-chart', 'Quality over time, side by side', [], axis, 'compare', sides));
  drawCharts();
}

window.addEventListener('message', (event: MessageEvent<DashboardHostMessage>) => {
  const message = event.data;
  switch (message.type) {
    case 'data':
      render(message.data);
      break;
    case 'versions':
      showVersions(message.template, message.versions);
      break;
    case 'comparison':
      if (data) showComparison(message.sides, message.axis);
      break;
    case 'empty':
      app.replaceChildren(el('p', { class: 'status' }, message.reason));
      break;
  }
});

// Charts take their colours from the theme when drawn: draw again when the theme changes.
new MutationObserver(() => {
  if (data) render(data);
}).observe(document.body, { attributes: true, attributeFilter: ['class'] });

// Charts follow the panel's width.
let resizeTimer: number | undefined;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(() => {
    for (const c of charts) c.setSize({ width: Math.max(280, c.root.parentElement?.clientWidth ?? 480), height: 220 });
  }, 100);
});

vscode.postMessage({ type: 'ready' });
