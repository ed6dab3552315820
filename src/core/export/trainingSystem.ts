/**
 * The system message of an exported conversation: the template's `training_system:` rendered with
 * the conversation's values. The generation `system:` ("You write conversations between…") is
 * the instruction that produced the data, not a role for the fine-tuned model, and is never
 * exported; without `training_system:` an export carries no system message.
 */
import { parseTemplate, renderTemplate, type ParsedTemplate } from '../template';

export type TrainingSystem = { readonly ok: true; readonly system?: string } | { readonly ok: false; readonly problem: string };

/** The rendered `training_system:` of a template version's text for one conversation's values. */
export function renderTrainingSystem(versionText: string, values: Readonly<Record<string, unknown>>): TrainingSystem {
  return renderWith(parseTemplate(versionText), values);
}

/** A renderer that parses each template version once (an export renders thousands of conversations of a few versions). */
export function trainingSystemRenderer(): (versionId: number, versionText: () => string, values: Readonly<Record<string, unknown>>) => TrainingSystem {
  const parsed = new Map<number, ParsedTemplate>();
  return (versionId, versionText, values) => {
    let template = parsed.get(versionId);
    if (template === undefined) parsed.set(versionId, (template = parseTemplate(versionText())));
    return renderWith(template, values);
  };
}

function renderWith(template: ParsedTemplate, values: Readonly<Record<string, unknown>>): TrainingSystem {
  if (!template.trainingSystem) {
    // A key that is there but did not parse as text must not quietly export no system message.
    const declared = template.frontMatter?.keys.some((k) => k.path.length === 1 && k.path[0] === 'training_system');
    return declared ? { ok: false, problem: '`training_system:` is not text' } : { ok: true };
  }
  // Only the training system message matters here: the version's body rendered before, so a
  // problem in it (a model alias of another workspace, say) must not stop the export.
  const rendered = renderTemplate(template, values);
  if (!rendered.ok) {
    const first = rendered.problems[0]!;
    return { ok: false, problem: `\`training_system:\` does not render: ${first.variable !== undefined ? `${first.variable} ` : ''}${first.message}` };
  }
  return { ok: true, ...(rendered.value.trainingSystem !== undefined ? { system: rendered.value.trainingSystem } : {}) };
}
