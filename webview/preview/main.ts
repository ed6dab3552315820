/**
 * The preview panel's page. Builds a form from the template's variables, sends the values to
 * the extension host and shows what it renders. Everything displayed goes through textContent:
 * no HTML is ever built from data.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-form-helper/index.js';
import '@vscode-elements/elements/dist/vscode-label/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textarea/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { FieldView, FilledValue, HostMessage, PreviewSegment, PreviewState, WebviewMessage } from '../../src/shared/previewProtocol';
import { el, vsCodeApi } from '../shared/dom';

/** One form control, whatever element shows it. */
interface Control {
  readonly element: HTMLElement;
  /** Shows `value` (undefined: the field's default state). */
  show(value: string | boolean | undefined): void;
  setInvalid(invalid: boolean): void;
}

const vscode = vsCodeApi<WebviewMessage, PreviewState>();
const app = document.getElementById('app')!;
let values: Record<string, string | boolean> = {};
let fields: readonly FieldView[] = [];
const controls = new Map<string, Control>();
const errors = new Map<string, HTMLElement>();

function byId(id: string): HTMLElement {
  return document.getElementById(id)!;
}

function send(): void {
  // What "Fill sample values" filled is old news once the values change again.
  const fillNote = document.getElementById('fill-note');
  if (fillNote) fillNote.textContent = '';
  vscode.postMessage({ type: 'values', values: { ...values } });
}

window.addEventListener('message', (event: MessageEvent<HostMessage>) => {
  const message = event.data;
  switch (message.type) {
    case 'template':
      vscode.setState({ uri: message.uri });
      values = { ...message.values };
      fields = message.fields;
      build(message.title);
      break;
    case 'rendered':
      show(message);
      break;
    case 'values':
      values = { ...message.values };
      refreshControls();
      byId('fill-note').textContent = filledNote(message.filled);
      break;
    case 'closed':
      app.replaceChildren(el('p', { class: 'status' }, message.reason));
      break;
  }
});

function build(title: string): void {
  controls.clear();
  errors.clear();
  const form = el('form', { id: 'form', 'aria-labelledby': 'values-heading' });
  form.addEventListener('submit', (e) => e.preventDefault());
  form.append(el('h2', { id: 'values-heading' }, 'Values'));
  if (fields.length === 0) form.append(el('p', { class: 'hint' }, 'This template has no variables.'));
  else form.append(fillButton());
  for (const field of fields) form.append(fieldRow(field));
  form.append(jsonBox());

  const output = el('section', { id: 'output', 'aria-label': 'Rendered prompt' });
  output.append(
    el('div', { id: 'problems', role: 'alert' }),
    el('h2', { id: 'system-heading' }, 'System prompt'),
    el('pre', { id: 'system', 'aria-labelledby': 'system-heading', tabindex: '0' }),
    el('h2', { id: 'prompt-heading' }, 'Prompt'),
    el('pre', { id: 'prompt', 'aria-labelledby': 'prompt-heading', tabindex: '0' }),
  );
  const header = el('header');
  header.append(el('h1', {}, title), el('p', { id: 'status', class: 'status', 'aria-live': 'polite' }));
  const layout = el('div', { class: 'layout' });
  layout.append(form, output);
  app.replaceChildren(header, layout);
}

function fieldRow(field: FieldView): HTMLElement {
  const id = `field-${field.name}`;
  const row = el('div', { class: 'field', 'data-variable': field.name });
  const label = el('vscode-label', { for: id, ...(field.required ? { required: '' } : {}) }, field.name);
  const control = makeControl(field, id);
  control.show(values[field.name]);
  controls.set(field.name, control);
  const error = el('p', { class: 'field-error', id: `${id}-error`, role: 'alert' });
  errors.set(field.name, error);
  control.element.setAttribute('aria-describedby', `${id}-help ${id}-error`);
  const help = [field.help, describe(field)].filter(Boolean).join(' · ');
  row.append(label, control.element, el('vscode-form-helper', { id: `${id}-help` }, help), error);
  return row;
}

function describe(field: FieldView): string {
  const parts: string[] = [field.type];
  if (field.default !== undefined) parts.push(`default ${String(field.default)}`);
  if (field.min !== undefined || field.max !== undefined) parts.push(`${field.min ?? '…'} to ${field.max ?? '…'}`);
  if (field.maxLength !== undefined) parts.push(`at most ${field.maxLength} characters`);
  if (!field.required) parts.push('optional');
  return parts.join(', ');
}

function makeControl(field: FieldView, id: string): Control {
  const changed = (value: string | boolean): void => {
    values[field.name] = value;
    send();
  };
  switch (field.type) {
    case 'dropdown': {
      const select = el('vscode-single-select', { id });
      // Always a leading empty choice: otherwise the select shows its first option while the form
      // holds no value, and a required field looks filled yet is reported missing.
      const empty = field.required ? '(choose one)' : field.default !== undefined ? `(default: ${String(field.default)})` : '(none)';
      select.append(el('vscode-option', { value: '' }, empty));
      for (const option of field.options ?? []) select.append(el('vscode-option', { value: String(option) }, String(option)));
      select.addEventListener('change', () => changed(select.value));
      return { element: select, show: (v) => (select.value = typeof v === 'string' ? v : ''), setInvalid: (b) => (select.invalid = b) };
    }
    case 'boolean': {
      const box = el('vscode-checkbox', { id, label: field.help ?? 'Yes', 'aria-label': field.name });
      box.addEventListener('change', () => changed(box.checked));
      return { element: box, show: (v) => (box.checked = typeof v === 'boolean' ? v : field.default === true), setInvalid: (b) => (box.invalid = b) };
    }
    default: {
      const input = el('vscode-textfield', {
        id,
        type: field.type === 'number' ? 'number' : 'text',
        ...(field.min !== undefined ? { min: String(field.min) } : {}),
        ...(field.max !== undefined ? { max: String(field.max) } : {}),
        ...(field.maxLength !== undefined ? { maxlength: String(field.maxLength) } : {}),
        ...(field.default !== undefined ? { placeholder: String(field.default) } : {}),
      });
      input.addEventListener('input', () => changed(input.value));
      return { element: input, show: (v) => (input.value = typeof v === 'string' ? v : ''), setInvalid: (b) => (input.invalid = b) };
    }
  }
}

/** Fills every required field still empty with a sample; the host applies the rule (core). */
function fillButton(): HTMLElement {
  const row = el('div', { class: 'fill' });
  const button = el('vscode-button', { id: 'fill-samples', secondary: '', title: 'Each empty required field gets its first example, default, first option, mid-range number, the "e.g." of its help, or its name in words' }, 'Fill sample values');
  button.addEventListener('click', () => vscode.postMessage({ type: 'fillSamples' }));
  row.append(button, el('p', { class: 'json-note', id: 'fill-note', role: 'status' }));
  return row;
}

const SAMPLE_SOURCES: Readonly<Record<FilledValue['from'], string>> = {
  example: 'its first example',
  default: 'its default',
  option: 'its first option',
  range: 'the middle of its range',
  help: 'the example in its help',
  name: 'its name',
};

function filledNote(filled: readonly FilledValue[]): string {
  if (filled.length === 0) return 'Nothing to fill: every required field has a value.';
  return `Filled with samples: ${filled.map((f) => `${f.name} (${SAMPLE_SOURCES[f.from]})`).join(', ')}.`;
}

/** All values at once, as one JSON object: handy for values kept in a file. */
function jsonBox(): HTMLElement {
  const box = el('details', { class: 'json' });
  box.append(el('summary', {}, 'Paste values as JSON'));
  const area = el('vscode-textarea', { id: 'json', rows: '5', placeholder: '{"persona": "Anxious Investor"}', 'aria-label': 'Values as one JSON object' });
  const apply = el('vscode-button', { id: 'apply-json' }, 'Apply');
  const error = el('p', { class: 'field-error', id: 'json-error', role: 'alert' });
  const note = el('p', { class: 'json-note', id: 'json-note', role: 'status' });
  apply.addEventListener('click', () => {
    const parsed = parseValues(area.value);
    if (typeof parsed === 'string') {
      error.textContent = parsed;
      note.textContent = '';
      return;
    }
    error.textContent = '';
    // Say what the paste did beyond filling fields: keys the template does not have are not used,
    // and fields that had a value but are not in the paste are emptied.
    const unknown = Object.keys(parsed).filter((name) => !controls.has(name));
    const reset = [...controls.keys()].filter((name) => values[name] !== undefined && values[name] !== '' && !(name in parsed));
    for (const name of unknown) delete parsed[name];
    note.textContent = [
      unknown.length > 0 ? `Not variables of this template, not used: ${unknown.join(', ')}.` : '',
      reset.length > 0 ? `Emptied, not in the pasted values: ${reset.join(', ')}.` : '',
    ]
      .filter((line) => line !== '')
      .join(' ');
    values = parsed;
    refreshControls();
    send();
  });
  box.append(area, apply, error, note);
  return box;
}

function parseValues(text: string): Record<string, string | boolean> | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return `Not valid JSON: ${(e as Error).message}`;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return 'Paste one JSON object, such as {"persona": "Anxious Investor"}.';
  const result: Record<string, string | boolean> = {};
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof value === 'boolean') result[name] = value;
    else if (typeof value === 'string' || typeof value === 'number') result[name] = String(value);
    else if (value !== null) return `The value of "${name}" must be text, a number or true/false.`;
  }
  return result;
}

function refreshControls(): void {
  for (const [name, control] of controls) control.show(values[name]);
}

function show(message: Extract<HostMessage, { type: 'rendered' }>): void {
  const problems = document.getElementById('problems');
  if (!problems) return;
  problems.replaceChildren();
  const lines = [
    ...message.templateErrors.map((e) => `line ${e.line}: ${e.code} ${e.message}`),
    ...message.problems,
  ];
  if (lines.length > 0) {
    problems.append(el('h2', {}, message.templateErrors.length > 0 ? 'The template has errors' : 'Problems'));
    const list = el('ul');
    for (const line of lines) list.append(el('li', {}, line));
    problems.append(list);
  }
  for (const [name, error] of errors) {
    const text = message.fieldErrors[name] ?? '';
    error.textContent = text ? `${name} ${text}` : '';
    controls.get(name)?.setInvalid(text !== '');
  }
  const system = byId('system');
  const hasSystem = message.draft?.system !== undefined;
  system.hidden = !hasSystem;
  byId('system-heading').hidden = !hasSystem;
  system.replaceChildren(...segments(message.draft?.system ?? []));
  byId('prompt').replaceChildren(...segments(message.draft?.prompt ?? []));
  const toFill = Object.keys(message.fieldErrors).length;
  byId('status').textContent =
    message.prompt !== undefined
      ? `Rendered in ${message.renderMs.toFixed(1)} ms`
      : message.templateErrors.length > 0
        ? 'Fix the template to see the prompt.'
        : toFill > 0
          ? `${toFill === 1 ? 'One value is' : `${toFill} values are`} missing or invalid: marked in the prompt and on ${toFill === 1 ? 'its field' : 'their fields'}.`
          : 'The prompt cannot be rendered: see the problems below.';
}

/**
 * The draft as nodes: text as text nodes, each missing value a marked chip with its name. Built
 * with textContent only, so a value holding markup shows as the characters it is.
 */
function segments(parts: readonly PreviewSegment[]): Node[] {
  return parts.map((part) =>
    part.kind === 'text'
      ? document.createTextNode(part.text)
      : el('span', { class: 'missing', 'data-variable': part.variable, title: `${part.variable}: no valid value yet`, 'aria-label': `missing value ${part.variable}` }, part.variable),
  );
}

// Tell the host we are listening; it answers with the template and a first render.
vscode.postMessage({ type: 'ready' });
