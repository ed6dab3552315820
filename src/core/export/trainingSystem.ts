/**
 * The system message of an exported conversation: the template's `training_system:` rendered with
 * the conversation's values. The generation `system:` ("You write conversations between…") is
 * the instruction that produced the data, not a role for the fine-tuned model, and is never
 * exported; without `training_system:` an export carries no system message.
 *
 * STAND-IN, the one place to switch: the template format's own `training_system:` support
 * (`ParsedTemplate.trainingSystem`, rendered by `renderTemplate` into `Rendered.trainingSystem`)
 * is being built alongside. Until it lands, this reads the key from the front matter itself and
 * renders it through the existing renderer by putting it in the place of `system:`, so it has
 * exactly the placeholder syntax, defaults, coercion and escaping of `system:`. Once it lands,
 * `renderTrainingSystem` becomes
 *   `const r = renderTemplate(parseTemplate(versionText), values); return r.ok ? r.value.trainingSystem : problems`.
 */
import { isScalar, parseDocument } from 'yaml';
import { parseTemplate, renderTemplate, type ParsedTemplate } from '../template';

export type TrainingSystem = { readonly ok: true; readonly system?: string } | { readonly ok: false; readonly problem: string };

/** The rendered `training_system:` of a template version's text for one conversation's values. */
export function renderTrainingSystem(versionText: string, values: Readonly<Record<string, unknown>>): TrainingSystem {
  return renderPrepared(prepareTrainingSystem(versionText), values);
}

/** A renderer that parses each template version once (an export renders thousands of conversations of a few versions). */
export function trainingSystemRenderer(): (versionId: number, versionText: () => string, values: Readonly<Record<string, unknown>>) => TrainingSystem {
  const prepared = new Map<number, Prepared>();
  return (versionId, versionText, values) => {
    let p = prepared.get(versionId);
    if (p === undefined) prepared.set(versionId, (p = prepareTrainingSystem(versionText())));
    return renderPrepared(p, values);
  };
}

/** No `training_system:` key; a template that stands in for it; or why it cannot be read. */
type Prepared = { readonly kind: 'none' } | { readonly kind: 'template'; readonly template: ParsedTemplate } | { readonly kind: 'problem'; readonly problem: string };

function prepareTrainingSystem(text: string): Prepared {
  const region = frontMatter(text);
  if (!region) return { kind: 'none' };
  const doc = parseDocument(region.yaml);
  if (doc.errors.length > 0) return { kind: 'problem', problem: `its front matter is not valid YAML (${doc.errors[0]!.message.split('\n')[0]})` };
  const node = doc.get('training_system', true);
  if (node === undefined || node === null) return { kind: 'none' };
  const value = isScalar(node) ? node.value : undefined;
  if (typeof value !== 'string') return { kind: 'problem', problem: '`training_system:` is not text' };
  doc.delete('training_system');
  doc.set('system', value);
  const stand = `---\n${String(doc)}---\n${text.slice(region.bodyStart)}`;
  return { kind: 'template', template: parseTemplate(stand) };
}

function renderPrepared(p: Prepared, values: Readonly<Record<string, unknown>>): TrainingSystem {
  if (p.kind === 'none') return { ok: true };
  if (p.kind === 'problem') return { ok: false, problem: p.problem };
  const rendered = renderTemplate(p.template, values);
  if (!rendered.ok) {
    const first = rendered.problems[0]!;
    return { ok: false, problem: `\`training_system:\` does not render: ${first.variable !== undefined ? `${first.variable} ` : ''}${first.message}` };
  }
  return { ok: true, ...(rendered.value.system !== undefined ? { system: rendered.value.system } : {}) };
}

/** The YAML between a first line `---` and the next `---` (or `...`) line, and where the body starts. */
function frontMatter(text: string): { yaml: string; bodyStart: number } | undefined {
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const lines = /^---[ \t]*\r?\n/.exec(text.slice(start));
  if (!lines) return undefined;
  const contentStart = start + lines[0].length;
  const close = /^(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/m;
  const rest = text.slice(contentStart);
  const m = close.exec(rest);
  if (!m) return { yaml: rest, bodyStart: text.length };
  return { yaml: rest.slice(0, m.index), bodyStart: contentStart + m.index + m[0].length };
}
