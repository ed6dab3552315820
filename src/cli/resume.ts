/**
 * `promptloom resume`: finishes an interrupted (or cancelled) batch with its own template version,
 * values, model and settings, generating only the conversations still missing. The API address is
 * the user's, as for `generate`; a batch never carries one.
 */
import { messageBatchRows } from '../core/generation/messageBatchRecords';
import { WorkspaceBatchRepository } from '../core/store';
import { openWorkspaceStore } from '../core/workspace';
import { cliStoreOptions } from './database';
import { runBatchesInTerminal } from './messageBatches';
import { EXIT, UserError } from './errors';
import { flaggedRuns } from '../core/analytics/runReasons';
import { Interrupt, exitCode, printOutcome, runInTerminal } from './generate';
import type { Output } from './output';
import { apiAddress, apiKey, openWorkspace, workspaceFolder } from './workspace';
import { refuseTeamStore } from './db';

export async function runResume(flags: { workspace?: string; batch?: string; apiBaseUrl?: string; format: 'text' | 'json' }, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  refuseTeamStore('resume', env);
  const folder = workspaceFolder(flags.workspace);
  const key = apiKey(env);
  const baseURL = apiAddress(flags.apiBaseUrl, env);
  const workspace = openWorkspace(folder, out);
  const interrupt = new Interrupt(out);
  const { store, notices } = await openWorkspaceStore(folder, cliStoreOptions(out)).catch((error: unknown) => {
    interrupt.dispose();
    throw error;
  });
  try {
    for (const notice of notices) out.note(`promptloom: ${notice}`);
    // A batch sent through Message Batches is re-attached to: its submitted Message Batches are
    // polled and collected, and only what none holds is submitted.
    const batches = new WorkspaceBatchRepository(store);
    const chosen = flags.batch ? await batches.get(flags.batch) : (await batches.unfinished())[0];
    // One complete but for its judge's grades is not 'completed' yet: resume grades it.
    if (chosen && chosen.settings.mode === 'batch' && (chosen.completed < chosen.requested || chosen.status !== 'completed' || (await messageBatchRows(store, chosen.id)).some((r) => r.state === 'submitted' || r.state === 'submitting'))) {
      let input: Awaited<ReturnType<typeof workspace.prepareMessageBatchResume>>;
      try {
        input = await workspace.prepareMessageBatchResume(store, chosen);
      } catch (error) {
        throw new UserError((error as Error).message);
      }
      out.note(`resuming batch ${chosen.id} through Message Batches: ${chosen.requested - chosen.completed} of ${chosen.requested} conversations to go`);
      const outcome = await runBatchesInTerminal({ ...input, apiKey: key, ...(baseURL ? { baseURL } : {}) }, flags.format === 'text' && Boolean(process.stderr.isTTY), interrupt);
      printOutcome(outcome, flags.format, out, await flaggedRuns(store, outcome.conversations, input.template.settings.qualityThreshold));
      return exitCode(outcome);
    }
    let prepared: Awaited<ReturnType<typeof workspace.prepareResume>>;
    try {
      prepared = await workspace.prepareResume(store, flags.batch);
    } catch (error) {
      throw new UserError((error as Error).message);
    }
    if (!prepared) {
      if (flags.batch && !(await batches.get(flags.batch))) throw new UserError(`no batch ${flags.batch} in ${folder}`);
      out.note(flags.batch ? `batch ${flags.batch} is complete: nothing to resume` : 'no unfinished batch to resume');
      return EXIT.ok;
    }
    const requested = (await batches.get(prepared.resume!.batchId))!.requested;
    out.note(`resuming batch ${prepared.resume!.batchId}: ${prepared.count} of ${requested} conversations to go`);
    const outcome = await runInTerminal({ ...prepared, apiKey: key, ...(baseURL ? { baseURL } : {}) }, flags.format === 'text' && Boolean(process.stderr.isTTY), interrupt);
    printOutcome(outcome, flags.format, out, await flaggedRuns(store, outcome.conversations, prepared.template.settings.qualityThreshold));
    return exitCode(outcome);
  } finally {
    store.close();
    interrupt.dispose();
  }
}
