/**
 * The quality breakdown panel's page: the overall score, a meter per part, the recommendations
 * and review buttons. Everything displayed goes through textContent. Keyboard: Tab reaches every
 * part and recommendation; ↑/↓ move between them; Enter on a recommendation opens its turn.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { bandOf, type Band, type QualityHostMessage, type QualityState, type QualityView, type QualityWebviewMessage, type ReviewChoice } from '../../src/shared/qualityProtocol';
import { el, vsCodeApi } from '../shared/dom';

const vscode = vsCodeApi<QualityWebviewMessage, QualityState>();
const app = document.getElementById('app')!;
const BAND_WORDS: Record<Band, string> = { low: 'low', fair: 'fair', good: 'good' };

/** Which element had focus, as a key that survives redrawing the page. */
function focusKey(): string | undefined {
  return (document.activeElement as HTMLElement | null)?.dataset?.key;
}

function show(view: QualityView): void {
  const focused = focusKey();
  const previous = shown;
  shown = view;
  vscode.setState({ id: view.id });
  const heading = el('h1', {}, view.title);
  const overall = el('div', { class: `overall band-${view.band}`, role: 'group', 'aria-label': `Overall quality ${view.overall.toFixed(1)} of 10, ${BAND_WORDS[view.band]}` });
  overall.append(el('span', { class: 'score', id: 'overall' }, view.overall.toFixed(1)), el('span', { class: 'band-word' }, `/ 10 · ${BAND_WORDS[view.band]} · flag threshold ${view.threshold.toFixed(1)} · ${view.status}`));
  const children: Node[] = [heading, overall];
  if (view.statusReason) children.push(el('p', { class: 'reason' }, view.statusReason));

  children.push(el('h2', { id: 'parts-heading' }, 'Breakdown'));
  const parts = el('div', { class: 'parts', role: 'group', 'aria-labelledby': 'parts-heading' });
  for (const p of view.parts) {
    const band = bandOf(p.score);
    const item = el('div', {
      class: `part band-${band}`,
      tabindex: '0',
      role: 'meter',
      'aria-valuemin': '0',
      'aria-valuemax': '10',
      'aria-valuenow': String(p.score),
      'aria-valuetext': `${p.score.toFixed(1)} of 10, ${BAND_WORDS[band]}`,
      'aria-label': `${p.label}, ${p.key === 'judge' ? 'caps the overall score' : `weight ${Math.round(p.weight * 100)} percent`}: ${p.detail}`,
      'data-part': p.key,
      'data-key': `part-${p.key}`,
      'data-nav': '',
    });
    const track = el('div', { class: 'track', 'aria-hidden': 'true' });
    const fill = el('div', { class: 'fill' });
    fill.style.width = `${Math.max(0, Math.min(10, p.score)) * 10}%`;
    track.append(fill);
    item.append(el('span', { class: 'label' }, p.key === 'judge' ? `${p.label} (caps the score)` : `${p.label} (${Math.round(p.weight * 100)}%)`), track, el('span', { class: 'value' }, `${p.score.toFixed(1)} ${BAND_WORDS[band]}`), el('span', { class: 'detail' }, p.detail));
    parts.append(item);
  }
  children.push(parts);

  children.push(el('h2', { id: 'recs-heading' }, 'Recommendations'));
  if (view.recommendations.length === 0) children.push(el('p', { class: 'none' }, 'Nothing to improve.'));
  else {
    const list = el('ul', { class: 'recommendations', 'aria-labelledby': 'recs-heading' });
    view.recommendations.forEach((r, index) => {
      const li = el('li');
      if (r.turn !== undefined) {
        const button = el('button', { type: 'button', 'data-nav': '', 'data-key': `rec-${index}`, 'aria-label': `${r.text}. Press Enter to open turn ${r.turn + 1}.` }, r.text);
        const turn = r.turn;
        button.addEventListener('click', () => vscode.postMessage({ type: 'reveal', id: view.id, turn }));
        li.append(button);
      } else {
        li.textContent = r.text;
        li.setAttribute('tabindex', '0');
        li.setAttribute('data-nav', '');
        li.setAttribute('data-key', `rec-${index}`);
      }
      list.append(li);
    });
    children.push(list);
  }

  const actions = el('div', { class: 'actions', role: 'group', 'aria-label': 'Review' });
  const reviewButton = (label: string, status: ReviewChoice, secondary: boolean) => {
    const b = el('vscode-button', { 'data-key': `review-${status}`, ...(secondary ? { secondary: '' } : {}) }, label);
    b.addEventListener('click', () => vscode.postMessage({ type: 'review', id: view.id, status }));
    return b;
  };
  actions.append(reviewButton('Approve', 'approved', false), reviewButton('Needs revision', 'needs_revision', true), reviewButton('Reject', 'rejected', true));
  children.push(actions, el('p', { class: 'hint' }, 'Overall: the form parts (turn count, length, structure) count in full from confidence 8 and by (confidence ÷ 8)² below it, plus 20% confidence.'));
  app.replaceChildren(...children);
  // Focus stays where it was (a review redraws the page), and a screen reader hears what changed.
  const target = focused ? document.querySelector<HTMLElement>(`[data-key="${focused}"]`) : null;
  // A new vscode-button renders asynchronously (Lit): focus it once it has.
  if (target) void ((target as { updateComplete?: Promise<unknown> }).updateComplete ?? Promise.resolve()).then(() => target.focus());
  if (previous?.id !== view.id) announce(`Quality ${view.overall.toFixed(1)} of 10, ${BAND_WORDS[view.band]}, ${view.status}`);
  else if (previous.status !== view.status) announce(`Now ${view.status}`);
}

let shown: QualityView | undefined;
const live = el('div', { class: 'sr-only', role: 'status', 'aria-live': 'polite' });
document.body.append(live);

function announce(text: string): void {
  live.textContent = text;
}

// ↑/↓ move between the parts and recommendations, as in a list.
document.addEventListener('keydown', (event) => {
  if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
  const items = [...document.querySelectorAll<HTMLElement>('[data-nav]')];
  const at = items.indexOf(document.activeElement as HTMLElement);
  if (at < 0) return;
  const next = items[at + (event.key === 'ArrowDown' ? 1 : -1)];
  if (next) {
    next.focus();
    event.preventDefault();
  }
});

window.addEventListener('message', (event: MessageEvent<QualityHostMessage>) => {
  const message = event.data;
  if (message.type === 'show') show(message.view);
  else app.replaceChildren(el('p', { class: 'status' }, message.reason));
});

vscode.postMessage({ type: 'ready' });
