/**
 * `promptloom resume`: finishes an interrupted batch with its own template version, values,
 * model and settings, generating only the conversations still missing.
 */
import { resolve } from 'node:path';
import { planResume, runRecordedBatch } from '../core/generation/batch';
import { resolveModel, type GenerationEngine } from '../core/generation/engine';
import { mergeSettings, storedSettings, type GenerationSettings } from '../core/generation/settings';
import { Store } from '../core/store';
import { parseTemplate, renderTemplate } from '../core/template';
import { EXIT, UserError } from './errors';
import { printOutcome, workspaceSettings } from './generate';
import type { Output } from './output';

export async function runResume(flags: { workspace?: string; batch?: string; format: 'text' | 'json' }, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  const apiKey = env.ANTHROPIC_API_KEY;
  if (!apiKey) throw new UserError('set ANTHROPIC_API_KEY to your Anthropic API key (it is read from the environment only)');
  const workspace = resolve(flags.workspace ?? '.');
  const store = await Store.open(workspace);
  try {
    const plan = planResume(store, flags.batch);
    if (!plan) {
      if (flags.batch && !store.get('SELECT 1 AS x FROM batches WHERE id = ?', [flags.batch])) throw new UserError(`no batch ${flags.batch} in ${workspace}`);
      out.note(flags.batch ? `batch ${flags.batch} is complete: nothing to resume` : 'no unfinished batch to resume');
      return EXIT.ok;
    }
    const local = workspaceSettings(workspace, out);
    // The batch's own settings, as it was started; the workspace's model table prices it.
    const settings: GenerationSettings = mergeSettings(storedSettings(plan.batch.settings), local.models ? { models: local.models } : {});
    const model = resolveModel(plan.batch.model, settings.models);
    if (!model) throw new UserError(`the batch used model ${plan.batch.model}, which is not in the model table`);
    const template = parseTemplate(plan.templateText, { fileName: plan.templatePath });
    const rendered = renderTemplate(template, plan.batch.parameters);
    if (!rendered.ok) throw new UserError(`the batch's stored template no longer renders: ${rendered.problems.map((p) => p.message).join('; ')}`);
    out.note(`resuming batch ${plan.batch.id}: ${plan.remaining} of ${plan.batch.requested} conversations to go`);
    const baseURL = env.ANTHROPIC_BASE_URL ?? settings.apiBaseUrl;
    let engine: GenerationEngine | undefined;
    const interrupt = () => engine?.cancel();
    process.once('SIGINT', interrupt);
    try {
      const outcome = await runRecordedBatch({
        store,
        templatePath: plan.templatePath,
        templateText: plan.templateText,
        template,
        rendered: rendered.value,
        settings,
        model,
        apiKey,
        ...(baseURL ? { baseURL } : {}),
        count: plan.remaining,
        resume: { batchId: plan.batch.id, templateId: plan.batch.templateId, versionId: plan.batch.versionId },
        started: (e) => (engine = e),
      });
      printOutcome(outcome, flags.format, out);
      return outcome.summary.succeeded === outcome.summary.requested ? EXIT.ok : EXIT.invalid;
    } finally {
      process.off('SIGINT', interrupt);
    }
  } finally {
    store.close();
  }
}
