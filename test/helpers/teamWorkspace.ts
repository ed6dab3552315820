/**
 * Workspace databases with something of everything `db push` copies, written through the
 * repositories as generation and review write them.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkspaceBatchRepository, WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository, type Clock } from '../../src/core/store';
import { WorkspaceJudgeCallRepository } from '../../src/core/store/judgeCalls';

export interface WorkspaceContents {
  readonly templates: number;
  readonly versions: number;
  readonly batches: number;
  readonly conversations: number;
  readonly turns: number;
  readonly scores: number;
  readonly generationLogs: number;
  readonly judgeCalls: number;
  readonly reviews: number;
  readonly messageBatches: number;
  readonly messageBatchResults: number;
}

/** A clock that moves one millisecond per reading: every row gets its own time. */
function steppingClock(start: number): Clock {
  let t = start;
  return { now: () => t++ };
}

/**
 * Adds to the workspace at `dir` (created when omitted) one template with two versions, a batch
 * of `conversations` conversations (each with two turns and a score), one failed attempt, a
 * review of the first conversation and a judge call grading the last. Returns the folder and what it now holds in all.
 */
export async function fillWorkspace(options: { dir?: string; path?: string; conversations?: number; start?: number } = {}): Promise<string> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'promptloom-team-'));
  const clock = steppingClock(options.start ?? 1_700_000_000_000);
  const store = await Store.open(dir);
  try {
    const templates = new WorkspaceTemplateRepository(store, clock);
    const template = await templates.ensure(options.path ?? 'support.prompt', { name: 'Support', tier: 'template' });
    await templates.recordVersion(template.id, `first ${options.path ?? ''}`);
    const version = await templates.recordVersion(template.id, `second ${options.path ?? ''} ${options.start ?? ''}`);
    const batch = await new WorkspaceBatchRepository(store, clock).create({ templateId: template.id, versionId: version.id, requested: 3, parameters: { tone: 'calm' }, model: 'claude-x', settings: {} });
    const generations = new WorkspaceGenerationRepository(store, clock);
    const ids: string[] = [];
    for (let i = 0; i < (options.conversations ?? 3); i++) {
      const outcome = await generations.record({
        templateId: template.id,
        versionId: version.id,
        batchId: batch.id,
        parameters: { tone: 'calm', n: i },
        model: 'claude-x',
        attempt: 1,
        status: 'succeeded',
        inputTokens: 100,
        outputTokens: 200,
        costUsd: 0.01,
        durationMs: 5,
        conversation: {
          turns: [
            { role: 'user', content: `question ${i} about the order that never came` },
            { role: 'assistant', content: `answer ${i}: it is on its way, here is the tracking number` },
          ],
          quality: { overall: 7 + i / 10, breakdown: { turns: 1 }, recommendations: [] },
        },
      });
      ids.push(outcome.conversationId!);
    }
    await generations.record({ templateId: template.id, versionId: version.id, batchId: batch.id, parameters: { tone: 'calm' }, model: 'claude-x', attempt: 1, status: 'failed', errorType: 'overloaded', inputTokens: 0, outputTokens: 0, costUsd: 0, durationMs: 3 });
    await generations.review(ids[0]!, 'approved', 'clear and kind');
    await new WorkspaceJudgeCallRepository(store, clock).recordCall({ conversationId: ids[ids.length - 1]!, batchId: batch.id, model: 'claude-judge', attempt: 1, status: 'succeeded', inputTokens: 50, outputTokens: 10, costUsd: 0.002, durationMs: 4 });
  } finally {
    store.close();
  }
  return dir;
}

/** What a workspace database holds, counted as `db push` counts. */
export async function contentsOf(dir: string): Promise<WorkspaceContents> {
  const store = await Store.open(dir);
  try {
    const count = async (table: string) => Number((await store.get(`SELECT count(*) AS n FROM ${table}`))!.n);
    return {
      templates: await count('templates'),
      versions: await count('template_versions'),
      batches: await count('batches'),
      conversations: await count('conversations'),
      turns: await count('turns'),
      scores: await count('quality_scores'),
      generationLogs: await count('generation_logs'),
      judgeCalls: await count('judge_calls'),
      reviews: await count('reviews'),
      messageBatches: await count('message_batches'),
      messageBatchResults: await count('message_batch_results'),
    };
  } finally {
    store.close();
  }
}
