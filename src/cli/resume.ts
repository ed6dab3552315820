/**
 * `promptloom resume`: finishes an interrupted batch with its own template version, values,
 * model and settings, generating only the conversations still missing.
 */
import { prepareResume, runRecordedBatch } from '../core/generation/batch';
import type { GenerationEngine } from '../core/generation/engine';
import { Store } from '../core/store';
import { EXIT, UserError } from './errors';
import { workspaceFolder } from './files';
import { printOutcome } from './generate';
import { workspaceSettings } from './workspace';
import type { Output } from './output';

export async function runResume(flags: { workspace?: string; batch?: string; format: 'text' | 'json' }, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  const apiKey = env.ANTHROPIC_API_KEY;
  if (!apiKey) throw new UserError('set ANTHROPIC_API_KEY to your Anthropic API key (it is read from the environment only)');
  const workspace = workspaceFolder(flags.workspace);
  const store = await Store.open(workspace);
  try {
    let prepared: ReturnType<typeof prepareResume>;
    try {
      prepared = prepareResume(store, flags.batch, workspaceSettings(workspace, out).models);
    } catch (error) {
      throw new UserError((error as Error).message);
    }
    if (!prepared) {
      if (flags.batch && !store.get('SELECT 1 AS x FROM batches WHERE id = ?', [flags.batch])) throw new UserError(`no batch ${flags.batch} in ${workspace}`);
      out.note(flags.batch ? `batch ${flags.batch} is complete: nothing to resume` : 'no unfinished batch to resume');
      return EXIT.ok;
    }
    const requested = Number(store.get('SELECT requested FROM batches WHERE id = ?', [prepared.resume!.batchId])!.requested);
    out.note(`resuming batch ${prepared.resume!.batchId}: ${prepared.count} of ${requested} conversations to go`);
    const baseURL = env.ANTHROPIC_BASE_URL ?? prepared.settings.apiBaseUrl;
    let engine: GenerationEngine | undefined;
    const interrupt = () => engine?.cancel();
    process.once('SIGINT', interrupt);
    try {
      const outcome = await runRecordedBatch({ ...prepared, apiKey, ...(baseURL ? { baseURL } : {}), started: (e) => (engine = e) });
      printOutcome(outcome, flags.format, out);
      return outcome.summary.succeeded === outcome.summary.requested ? EXIT.ok : EXIT.invalid;
    } finally {
      process.off('SIGINT', interrupt);
    }
  } finally {
    store.close();
  }
}
