/**
 * The template test panel's page: the verdict, each criterion passed or failed with why, the
 * figures against threshold and baseline, and the runs (each opens its transcript).
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { TestHostMessage, TestResultView, TestState, TestWebviewMessage } from '../../src/shared/testProtocol';
import { el, vsCodeApi } from '../shared/dom';

const vscode = vsCodeApi<TestWebviewMessage, TestState>();
const app = document.getElementById('app')!;

const band = (score: number) => (score < 6 ? 'low' : score < 8 ? 'fair' : 'good');

function show(r: TestResultView): void {
  vscode.setState({ result: r });
  const verdict = el('div', { class: `overall band-${r.passed ? 'good' : 'low'}`, id: 'verdict', role: 'status' });
  verdict.append(el('span', { class: 'score' }, r.passed ? 'Passed' : 'Failed'), el('span', { class: 'band-word' }, `${r.runs.length} test generations · ${new Date(r.finishedAt).toLocaleString()}`));
  const figures = el('p', { class: 'figures' }, [
    `average ${r.average === null ? '—' : r.average.toFixed(1)}`,
    `threshold ${r.threshold.toFixed(1)}`,
    r.baseline ? `baseline ${r.baseline.average.toFixed(1)} (${r.baseline.source})` : 'no baseline yet',
    r.deviation !== undefined ? `deviation ${r.deviation >= 0 ? '+' : ''}${r.deviation.toFixed(1)}` : '',
  ].filter(Boolean).join(' · '));

  const criteria = el('ul', { class: 'criteria', id: 'criteria', 'aria-labelledby': 'criteria-heading' });
  for (const c of r.criteria) {
    const li = el('li', { class: c.passed ? 'pass' : 'fail', 'aria-label': `${c.passed ? 'Passed' : 'Failed'}: ${c.name}, ${c.detail}` });
    li.append(el('span', { class: 'mark', 'aria-hidden': 'true' }, c.passed ? '✓' : '✗'), el('span', { class: 'name' }, c.name), el('span', { class: 'detail' }, c.detail));
    criteria.append(li);
  }

  const runs = el('ol', { class: 'runs', id: 'runs', 'aria-labelledby': 'runs-heading' });
  r.runs.forEach((run) => {
    const li = el('li');
    if (run.conversationId && run.overall !== undefined) {
      const open = el('button', { type: 'button', class: `run band-${band(run.overall)}`, 'aria-label': `Quality ${run.overall.toFixed(1)}, ${run.status ?? ''}. Open the conversation.` });
      open.append(el('span', { class: 'run-score' }, run.overall.toFixed(1)), el('span', { class: 'detail' }, ` ${run.status?.replace('_', ' ') ?? ''}${run.firstRecommendation ? ` — ${run.firstRecommendation}` : ''}`));
      const id = run.conversationId;
      open.addEventListener('click', () => vscode.postMessage({ type: 'open', conversationId: id }));
      li.append(open);
      // The judge's part, when Claude graded the run: it caps the run's score.
      if (run.judge) {
        const j = run.judge;
        const part = el('div', { class: `judge band-${band(j.score)}`, 'data-key': 'judge', 'aria-label': `Judge ${j.score.toFixed(1)}, ${j.model}, ${j.overall} of 10: ${j.reason}` });
        part.append(el('span', { class: 'judge-score' }, `Judge ${j.score.toFixed(1)}`), el('span', { class: 'detail' }, ` ${j.model}, ${j.overall}/10: ${j.reason}`));
        li.append(part);
      }
    } else li.textContent = 'generation failed';
    runs.append(li);
  });

  const again = el('vscode-button', { id: 'rerun', secondary: '' }, 'Run again');
  again.addEventListener('click', () => vscode.postMessage({ type: 'rerun' }));
  app.replaceChildren(
    el('h1', {}, `${r.template} (${r.file})`),
    verdict,
    figures,
    el('h2', { id: 'criteria-heading' }, 'Criteria'),
    criteria,
    el('h2', { id: 'runs-heading' }, 'Runs'),
    runs,
    el('div', { class: 'actions' }, ''),
  );
  app.querySelector('.actions')!.append(again);
}

window.addEventListener('message', (event: MessageEvent<TestHostMessage>) => {
  const message = event.data;
  if (message.type === 'result') show(message.result);
  else app.replaceChildren(el('p', { class: 'status' }, message.reason));
});

const saved = vscode.getState()?.result;
if (saved) show(saved);
vscode.postMessage({ type: 'ready' });
