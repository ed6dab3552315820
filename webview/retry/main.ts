/**
 * The retry simulation's page: the retry settings (start from the workspace's, editable here for
 * the simulation only), a failure-rate slider, one run's attempts and waits, and the distribution
 * over many runs (success rate, attempts, time to success, and its histogram drawn with uPlot, as
 * the dashboard draws its charts). The host runs the simulation; this page only asks and draws.
 * Everything displayed goes through textContent.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { AttemptView, DistributionView, PolicyLimits, PolicyView, RetryHostMessage, RetryState, RetryWebviewMessage, SimulationRequest, StrategyName } from '../../src/shared/retryProtocol';
import { el, vsCodeApi } from '../shared/dom';

const vscode = vsCodeApi<RetryWebviewMessage, RetryState>();
const app = document.getElementById('app')!;
let state: RetryState = vscode.getState() ?? {};
let settings: PolicyView | undefined;
let limits: PolicyLimits | undefined;
/** The request last sent: a result for an older one is not drawn. */
let asked: SimulationRequest | undefined;
let chart: uPlot | undefined;

const DEFAULT_FAILURE_RATE = 0.3;

function saveState(patch: Partial<RetryState>): void {
  state = { ...state, ...patch };
  vscode.setState(state);
}

/** Keeps the fields as edited here, or forgets them (they are the settings again). */
function savePolicy(policy: PolicyView | undefined): void {
  const { policy: _old, ...rest } = state;
  state = policy ? { ...rest, policy } : rest;
  vscode.setState(state);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
const percent = (share: number) => `${(share * 100).toFixed(1)}%`;

// ---- the form ------------------------------------------------------------------------------------

interface Form {
  readonly strategy: HTMLSelectElement;
  readonly maxAttempts: HTMLInputElement;
  readonly baseDelayMs: HTMLInputElement;
  readonly maxDelayMs: HTMLInputElement;
  readonly failureRate: HTMLInputElement;
  readonly failureRateShown: HTMLOutputElement;
  readonly problem: HTMLElement;
}

let form: Form | undefined;

function numberField(id: string, label: string, range: { min: number; max: number }, unit?: string): { row: HTMLElement; input: HTMLInputElement } {
  const input = el('input', { id, type: 'number', min: String(range.min), max: String(range.max), step: '1', required: '' });
  const row = el('div', { class: 'field' });
  row.append(el('label', { for: id }, label), input);
  if (unit) row.append(el('span', { class: 'unit' }, unit));
  return { row, input };
}

function buildForm(l: PolicyLimits): Form {
  const strategy = el('select', { id: 'strategy' });
  for (const s of l.strategies) strategy.append(el('option', { value: s }, s));
  const strategyRow = el('div', { class: 'field' });
  strategyRow.append(el('label', { for: 'strategy' }, 'Strategy'), strategy);
  const attempts = numberField('max-attempts', 'Max attempts', l.maxAttempts);
  const base = numberField('base-delay', 'Base delay', l.baseDelayMs, 'ms');
  const max = numberField('max-delay', 'Max delay', l.maxDelayMs, 'ms');

  const failureRate = el('input', { id: 'failure-rate', type: 'range', min: '0', max: '100', step: '1', 'aria-describedby': 'failure-rate-shown' });
  const failureRateShown = el('output', { id: 'failure-rate-shown', for: 'failure-rate' });
  const rateRow = el('div', { class: 'field slider' });
  rateRow.append(el('label', { for: 'failure-rate' }, 'Failure rate'), failureRate, failureRateShown);

  const reset = el('vscode-button', { id: 'reset', secondary: '' }, 'Use the settings');
  reset.addEventListener('click', () => {
    savePolicy(undefined);
    if (settings) fill(settings);
    ask();
  });
  const again = el('vscode-button', { id: 'draw-again', secondary: '' }, 'Draw again');
  again.addEventListener('click', () => {
    saveState({ seed: ((state.seed ?? 1) + 1) % 2 ** 31 });
    ask();
  });
  const save = el('vscode-button', { id: 'save', secondary: '' }, 'Save as the settings');
  save.addEventListener('click', () => {
    const policy = form && edited(form);
    if (policy && typeof policy !== 'string') vscode.postMessage({ type: 'save', ...policy });
  });
  const buttons = el('div', { class: 'buttons' });
  buttons.append(reset, save, again);

  const problem = el('p', { class: 'problem', role: 'alert' });
  const fieldset = el('fieldset', { class: 'policy' });
  fieldset.append(el('legend', {}, 'Retry settings'), strategyRow, attempts.row, base.row, max.row);
  const note = el('p', { class: 'note', id: 'source' });
  const section = el('section', { 'aria-labelledby': 'settings-heading' });
  section.append(el('h2', { id: 'settings-heading' }, 'Strategy'), fieldset, note, rateRow, buttons, problem);
  // One short line is announced per change; the results themselves are redrawn silently.
  app.replaceChildren(el('h1', {}, 'Retry simulation'), section, el('p', { id: 'announce', role: 'status', class: 'visually-hidden' }), el('section', { id: 'results' }));

  const f: Form = { strategy, maxAttempts: attempts.input, baseDelayMs: base.input, maxDelayMs: max.input, failureRate, failureRateShown, problem };
  for (const input of [strategy, attempts.input, base.input, max.input]) input.addEventListener('input', () => ask());
  failureRate.addEventListener('input', () => {
    saveState({ failureRate: Number(failureRate.value) / 100 });
    ask();
  });
  return f;
}

function fill(p: PolicyView): void {
  if (!form) return;
  form.strategy.value = p.strategy;
  form.maxAttempts.value = String(p.maxAttempts);
  form.baseDelayMs.value = String(p.baseDelayMs);
  form.maxDelayMs.value = String(p.maxDelayMs);
}

/** The policy as the fields say, or what is wrong with them. */
function edited(f: Form): PolicyView | string {
  for (const [input, name] of [[f.maxAttempts, 'Max attempts'], [f.baseDelayMs, 'Base delay'], [f.maxDelayMs, 'Max delay']] as const) {
    if (!input.checkValidity() || input.value.trim() === '') return `${name}: a whole number from ${Number(input.min).toLocaleString('en-US')} to ${Number(input.max).toLocaleString('en-US')}.`;
  }
  return { strategy: f.strategy.value as StrategyName, maxAttempts: Number(f.maxAttempts.value), baseDelayMs: Number(f.baseDelayMs.value), maxDelayMs: Number(f.maxDelayMs.value) };
}

const samePolicy = (a: PolicyView, b: PolicyView) => a.strategy === b.strategy && a.maxAttempts === b.maxAttempts && a.baseDelayMs === b.baseDelayMs && a.maxDelayMs === b.maxDelayMs;

/** Asks the host to simulate what the form says (nothing when a field is invalid: it says why). */
function ask(): void {
  if (!form) return;
  const rate = state.failureRate ?? DEFAULT_FAILURE_RATE;
  form.failureRateShown.textContent = `${Math.round(rate * 100)}%`;
  form.failureRate.setAttribute('aria-valuetext', `${Math.round(rate * 100)} percent of attempts fail`);
  const policy = edited(form);
  if (typeof policy === 'string') {
    form.problem.textContent = policy;
    return;
  }
  form.problem.textContent = '';
  const fromSettings = settings !== undefined && samePolicy(policy, settings);
  savePolicy(fromSettings ? undefined : policy);
  document.getElementById('source')!.textContent = fromSettings
    ? 'These are the workspace’s retry settings (promptloom.retry.*).'
    : 'Edited here for the simulation only; the settings are unchanged until you save them.';
  asked = { type: 'simulate', ...policy, failureRate: rate, seed: state.seed ?? 1 };
  vscode.postMessage(asked);
}

// ---- the results ---------------------------------------------------------------------------------

function timeline(run: readonly AttemptView[]): HTMLElement {
  const longest = Math.max(1, ...run.map((a) => a.delayMs ?? 0));
  const list = el('ol', { id: 'timeline', class: 'timeline' });
  for (const a of run) {
    const item = el('li', { class: `attempt ${a.outcome}` });
    item.append(el('span', { class: 'what' }, `Attempt ${a.attempt} ${a.outcome}`));
    if (a.delayMs !== undefined) {
      const wait = el('span', { class: 'wait' });
      // The waits of a run drawn to one scale: the longest fills the track.
      const track = el('span', { class: 'track', 'aria-hidden': 'true' });
      const bar = el('span', { class: 'bar' });
      bar.style.width = `${Math.max(2, (a.delayMs / longest) * 100)}%`;
      track.append(bar);
      wait.append(track, el('span', { class: 'delay' }, `then waits ${seconds(a.delayMs)}`));
      item.append(wait);
    }
    list.append(item);
  }
  return list;
}

function runSummary(run: readonly AttemptView[]): string {
  const waited = run.reduce((t, a) => t + (a.delayMs ?? 0), 0);
  const last = run.at(-1);
  return last?.outcome === 'succeeded'
    ? `Succeeded on attempt ${last.attempt}${waited > 0 ? ` after ${seconds(waited)} of waiting` : ' at once'}.`
    : `Failed all ${run.length} attempts, after ${seconds(waited)} of waiting.`;
}

function figures(d: DistributionView): HTMLElement {
  const list = el('dl', { id: 'figures', class: 'figures' });
  const t = d.timeToSuccessMs;
  const add = (key: string, label: string, value: string) => {
    const row = el('div', { 'data-figure': key });
    row.append(el('dt', {}, label), el('dd', {}, value));
    list.append(row);
  };
  add('success-rate', 'Success rate', percent(d.successRate));
  add('attempts', 'Attempts', `${d.attempts.mean.toFixed(2)} on average, ${d.attempts.max} at most`);
  add('median', 'Time to success, median', t.p50 === null ? '—' : seconds(t.p50));
  add('p95', 'Time to success, 95th percentile', t.p95 === null ? '—' : seconds(t.p95));
  add('max', 'Time to success, longest', t.max === null ? '—' : seconds(t.max));
  return list;
}

function colour(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

function histogram(d: DistributionView, holder: HTMLElement): void {
  chart?.destroy();
  chart = undefined;
  if (d.histogram.length === 0) {
    holder.textContent = 'No run succeeded: nothing to draw.';
    return;
  }
  const fg = colour('--vscode-foreground', '#ccc');
  const grid = colour('--vscode-panel-border', 'rgba(128,128,128,0.3)');
  const axis = (label: string): uPlot.Axis => ({ stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, label, labelSize: 18, font: '11px sans-serif', labelFont: '11px sans-serif' });
  const mids = d.histogram.map((b) => (b.fromMs + b.toMs) / 2000);
  const width = (d.histogram[0]!.toMs - d.histogram[0]!.fromMs) / 1000;
  chart = new uPlot(
    {
      width: Math.max(280, holder.clientWidth || 480),
      height: 220,
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false, range: () => [0, mids.at(-1)! + width / 2] }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: [axis('time to success (s)'), axis('runs')],
      series: [{}, { label: 'Runs', stroke: colour('--vscode-charts-blue', '#3794ff'), fill: colour('--vscode-charts-blue', '#3794ff'), paths: uPlot.paths.bars!({ size: [0.9, 60] }), points: { show: false } }],
    },
    [mids, d.histogram.map((b) => b.count)],
    holder,
  );
}

function showResult(message: Extract<RetryHostMessage, { type: 'result' }>): void {
  const d = message.distribution;
  const results = document.getElementById('results');
  if (!results) return;
  const holder = el('div', { id: 'histogram', class: 'plot', role: 'img' });
  const t = d.timeToSuccessMs;
  holder.setAttribute(
    'aria-label',
    `Time to success over ${d.runs.toLocaleString('en-US')} runs: ${percent(d.successRate)} succeeded` + (t.p50 === null ? '' : `, median ${seconds(t.p50)}, 95th percentile ${seconds(t.p95!)}, longest ${seconds(t.max!)}`),
  );
  const chartFigure = el('figure', { class: 'chart' });
  chartFigure.append(el('figcaption', {}, 'Time to success (runs that succeeded)'), holder);
  // Which request is drawn (Draw again changes the seed), for tests to wait on.
  results.dataset.seed = String(message.request.seed);
  results.dataset.failureRate = String(message.request.failureRate);
  results.dataset.maxAttempts = String(message.request.maxAttempts);
  results.replaceChildren(
    el('h2', {}, 'One run'),
    el('p', { id: 'run-summary' }, runSummary(message.run)),
    timeline(message.run),
    el('h2', {}, `Over ${d.runs.toLocaleString('en-US')} runs`),
    figures(d),
    chartFigure,
  );
  histogram(d, holder);
  document.getElementById('announce')!.textContent = `${percent(d.successRate)} succeed${t.p50 === null ? '' : `, median time to success ${seconds(t.p50)}`}.`;
}

window.addEventListener('message', (event: MessageEvent<RetryHostMessage>) => {
  const message = event.data;
  switch (message.type) {
    case 'settings': {
      const first = !form;
      settings = message.policy;
      limits = message.limits;
      if (first) form = buildForm(limits);
      // Edits made here survive a settings change and a reload; otherwise the settings show.
      fill(state.policy ?? settings);
      form!.failureRate.value = String(Math.round((state.failureRate ?? DEFAULT_FAILURE_RATE) * 100));
      ask();
      break;
    }
    case 'result':
      if (asked && JSON.stringify(message.request) === JSON.stringify(asked)) showResult(message);
      break;
  }
});

vscode.postMessage({ type: 'ready' });
