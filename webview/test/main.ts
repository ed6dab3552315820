/**
 * The template test panel's page: the verdict, each criterion passed or failed with why, the
 * figures against threshold and baseline, and the runs (each opens its transcript).
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { TestHostMessage, TestResultView, TestState, TestWebviewMessage } from '../../src/shared/testProtocol';
import { el, vsCodeApi } from '../shared/dom';

const vscode = vsCodeApi<TestWebviewMessage, TestState>();
const app = document.getElementById('app')!;

/** Findings shown under a run; the transcript has them all. */
const MAX_FINDINGS = 6;

const band = (score: number) => (score < 6 ? 'low' : score < 8 ? 'fair' : 'good');

function show(r: TestResultView): void {
  vscode.setState({ result: r });
  const verdict = el('div', { class: `overall band-${r.passed ? 'good' : 'low'}`, id: 'verdict', role: 'status' });
  // Flagged runs do not fail a test on their own (a near-duplicate may score 9.8): counted here, so a pass never hides one.
  const flagged = r.runs.filter((run) => run.flagged).length;
  verdict.append(
    el('span', { class: 'score' }, r.passed ? 'Passed' : 'Failed'),
    el('span', { class: 'band-word' }, `${r.runs.length} test generations${flagged ? ` · ${flagged} flagged for revision` : ''} · ${new Date(r.finishedAt).toLocaleString()}`),
  );
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
  r.runs.forEach((run, i) => {
    const li = el('li');
    if (run.conversationId && run.overall !== undefined) {
      const id = run.conversationId;
      // The run's status in words: "flagged: <reason>" whatever it scored, "below 8.0: …", or its review status.
      const words = run.verdict ?? `${run.status?.replace('_', ' ') ?? ''}${run.firstRecommendation ? ` — ${run.firstRecommendation}` : ''}`;
      const attention = run.flagged || run.below;
      if (attention) li.classList.add(run.flagged ? 'flagged' : 'below');
      const open = el('button', { type: 'button', class: `run band-${band(run.overall)}`, 'aria-label': `Run ${i + 1}: quality ${run.overall.toFixed(1)}, ${words}. Open the transcript.` });
      open.append(el('span', { class: 'run-score' }, run.overall.toFixed(1)), el('span', { class: attention ? 'verdict' : 'detail' }, ` ${words}`));
      open.addEventListener('click', () => vscode.postMessage({ type: 'open', conversationId: id }));
      li.append(open);
      // The judge's part, when Claude graded the run: it caps the run's score.
      if (run.judge) {
        const j = run.judge;
        const part = el('div', { class: `judge band-${band(j.score)}`, 'data-key': 'judge', 'aria-label': `Judge ${j.score.toFixed(1)}, ${j.model}, ${j.overall} of 10: ${j.reason}` });
        part.append(el('span', { class: 'judge-score' }, `Judge ${j.score.toFixed(1)}`), el('span', { class: 'detail' }, ` ${j.model}, ${j.overall}/10: ${j.reason}`));
        li.append(part);
      }
      // Why it needs attention: each finding with its kind, rule and turn (a click shows the turn).
      if (attention) {
        const findings = run.findings ?? [];
        const list = el('div', { class: 'findings', role: 'list', 'aria-label': `Findings of run ${i + 1}` });
        for (const f of findings.slice(0, MAX_FINDINGS)) {
          const kind = f.rule && f.rule !== f.kind ? `${f.kind} · ${f.rule}` : f.kind;
          const item = el('div', { role: 'listitem', class: `finding kind-${f.kind}` });
          const reveal = el('button', { type: 'button', 'aria-label': `Turn ${f.turn + 1}, ${kind}: ${f.message}. Show the turn in the transcript.` });
          reveal.append(el('span', { class: 'finding-turn' }, `turn ${f.turn + 1}`), el('span', { class: 'finding-kind' }, kind), el('span', { class: 'finding-message' }, f.message));
          reveal.addEventListener('click', () => vscode.postMessage({ type: 'reveal', conversationId: id, turn: f.turn }));
          item.append(reveal);
          list.append(item);
        }
        if (findings.length === 0) list.append(el('div', { role: 'listitem', class: 'finding none' }, 'no finding on a turn: the reason above is the whole of it'));
        const more = findings.length > MAX_FINDINGS ? `${findings.length - MAX_FINDINGS} more findings in the transcript · ` : '';
        const transcript = el('button', { type: 'button', class: 'open-transcript' }, 'Open the transcript');
        transcript.addEventListener('click', () => vscode.postMessage({ type: 'open', conversationId: id }));
        const actions = el('div', { class: 'run-actions' }, more);
        actions.append(transcript);
        li.append(list, actions);
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
