/**
 * `promptloom resume`: finishes an interrupted (or cancelled) batch with its own template version,
 * values, model and settings, generating only the conversations still missing. The API address is
 * the user's, as for `generate`; a batch never carries one.
 */
import { messageBatchResumeLeft } from '../core/generation/messageBatchRecords';
import { WorkspaceBatchRepository, type BatchRow, type Store } from '../core/store';
import { nothingClaimed, openWorkspaceStore, replayTeamSpool, TeamResumeRefusal } from '../core/workspace';
import { cliStoreOptions } from './database';
import { runBatchesInTerminal, runTeamBatchesInTerminal } from './messageBatches';
import type { TeamDatabase } from '../core/store/postgres/teamDatabase';
import { EXIT, UserError } from './errors';
import { flaggedRuns } from '../core/analytics/runReasons';
import { Interrupt, exitCode, printOutcome, runInTerminal } from './generate';
import type { Output } from './output';
import { apiAddress, apiKey, openWorkspace, workspaceFolder } from './workspace';
import { teamDatabaseUrl } from './db';
import { withTeamStore } from './teamStore';
import { refuseWhileFirstRunLives, runTeamResume, TeamStoreUnsupportedError } from '../core/generation/batch';
import { ProgressBar } from './generate';
import type { Workspace } from '../core/workspace';

export async function runResume(flags: { workspace?: string; batch?: string; apiBaseUrl?: string; databaseUrl?: string; format: 'text' | 'json' }, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  const folder = workspaceFolder(flags.workspace);
  const teamUrl = teamDatabaseUrl(flags.databaseUrl, env);
  const key = apiKey(env);
  const baseURL = apiAddress(flags.apiBaseUrl, env);
  const workspace = openWorkspace(folder, out);
  if (teamUrl) return resumeOnTeamStore(teamUrl, workspace, flags, { apiKey: key, ...(baseURL ? { baseURL } : {}) }, out);
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
    if (chosen && chosen.settings.mode === 'batch' && (await messageBatchResumeLeft(store, chosen))) {
      let input: Awaited<ReturnType<typeof workspace.prepareMessageBatchResume<Store>>>;
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

/**
 * `resume --database-url`: the batch's missing conversations claimed a few at a time with the
 * other resumes of it (`runTeamResume`), so two resumes split the work. The folder gives only its
 * settings and model table, as for `generate --database-url`.
 */
async function resumeOnTeamStore(url: string, workspace: Workspace, flags: { batch?: string; format: 'text' | 'json' }, api: { apiKey: string; baseURL?: string }, out: Output): Promise<number> {
  const interrupt = new Interrupt(out);
  try {
    return await withTeamStore(url, async (db) => {
      // Answers an earlier run kept while the server was unreachable are written before the
      // missing work is counted, so they are not generated again.
      for (const notice of await replayTeamSpool(workspace.folder, db)) out.note(`promptloom: ${notice}`);
      let taken: Awaited<ReturnType<Workspace['teamResume']>>;
      try {
        // Sent through Message Batches: re-attached to (polled, collected), not generated again.
        const batch = await workspace.teamBatchToResume(db, flags.batch);
        if (batch.settings.mode === 'batch') return await resumeMessageBatchesOnTeamStore(db, workspace, batch, flags, api, out, interrupt);
        taken = await workspace.teamResume(db, batch.id);
      } catch (error) {
        if (error instanceof TeamResumeRefusal) throw new UserError(error.message);
        throw error;
      }
      const { batch: chosen, prepared } = taken;
      if (!prepared) {
        out.note(`batch ${chosen.id} is complete: nothing to resume`);
        return EXIT.ok;
      }
      await refuseWhileFirstRunLives(db, chosen.id);
      out.note(`resuming batch ${chosen.id} on the team database: ${prepared.remaining} of ${chosen.requested} conversations to go, claimed with any other resume of it`);
      const progress = new ProgressBar(prepared.remaining, flags.format === 'text' && Boolean(process.stderr.isTTY));
      let result: Awaited<ReturnType<typeof runTeamResume>>;
      try {
        result = await runTeamResume({ ...prepared, db, folder: workspace.folder, ...api, started: (e) => interrupt.started(e), onAttempt: (a) => progress.update(a) });
      } catch (error) {
        if (error instanceof TeamStoreUnsupportedError) throw new UserError(error.message);
        throw error;
      } finally {
        progress.done();
      }
      if (!result.outcome) {
        const why = nothingClaimed(chosen.id, result);
        if (flags.format === 'json') out.stdout(JSON.stringify({ batchId: chosen.id, claimed: 0, cancelled: result.cancelled, heldByOthers: result.heldByOthers }) + '\n');
        else out.stdout(why + '\n');
        return EXIT.ok;
      }
      printOutcome(result.outcome, flags.format, out, await flaggedRuns(db, result.outcome.conversations, prepared.template.settings.qualityThreshold), false);
      return exitCode(result.outcome);
    });
  } finally {
    interrupt.dispose();
  }
}

/**
 * `resume --database-url` of a batch sent through Message Batches: its author's run re-attached,
 * as in a workspace (`runTeamMessageBatches`): the Message Batches submitted are collected, a row
 * whose POST got no answer is matched in the account's list, and only what none holds is
 * submitted. Another member's is refused: its Message Batches are the author's rows (row-level
 * security) in the author's Anthropic account, and what is done of it is known from them.
 */
async function resumeMessageBatchesOnTeamStore(
  db: TeamDatabase,
  workspace: Workspace,
  chosen: BatchRow,
  flags: { format: 'text' | 'json' },
  api: { apiKey: string; baseURL?: string },
  out: Output,
  interrupt: Interrupt,
): Promise<number> {
  // Another member's, or a model or template that no longer serves: `TeamResumeRefusal`, one line (the caller's catch).
  const input = await workspace.teamMessageBatchResume(db, chosen);
  // Complete, and nothing of it left at Anthropic: nothing to do.
  if (!input) {
    out.note(`batch ${chosen.id} is complete: nothing to resume`);
    return EXIT.ok;
  }
  out.note(`resuming batch ${chosen.id} through Message Batches on the team database: ${chosen.requested - chosen.completed} of ${chosen.requested} conversations to go`);
  const outcome = await runTeamBatchesInTerminal({ ...input, db, ...api }, flags.format === 'text' && Boolean(process.stderr.isTTY), interrupt);
  printOutcome(outcome, flags.format, out, await flaggedRuns(db, outcome.conversations, input.template.settings.qualityThreshold), false);
  return exitCode(outcome);
}
