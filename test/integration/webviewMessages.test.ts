/**
 * Messages from a webview are untrusted: posted to a real panel in the real extension host, a
 * malformed one is dropped with a line in the Promptloom log and changes nothing; a handler that
 * fails is logged, and the panel keeps working. Messages go in through the panel's `deliver`, the
 * very function its `onDidReceiveMessage` listener calls.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { scoreConversation, toQualityResult } from '../../src/core/quality';
import { WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository, type ConversationSummary } from '../../src/core/store';
import { GOOD } from '../fixtures/conversations';
import { open, waitFor } from './helpers';

type Outcome = { kind: 'handled' } | { kind: 'dropped'; problem: string } | { kind: 'failed'; error: string };
interface Receiving {
  deliver(raw: unknown): Promise<Outcome>;
}

/** The Promptloom output channel as the host writes it: <run>/user/logs/<session>/exthost*\/promptloom.promptloom/Promptloom.log. */
function logFile(): string {
  const report = process.env.PROMPTLOOM_TEST_REPORT;
  if (!report) throw new Error('PROMPTLOOM_TEST_REPORT is not set: run through npm run test:integration');
  const logs = join(dirname(report), 'user', 'logs');
  const files = readdirSync(logs).flatMap((session) =>
    readdirSync(join(logs, session))
      .filter((d) => d.startsWith('exthost'))
      .map((d) => join(logs, session, d, 'promptloom.promptloom', 'Promptloom.log'))
      .filter((f) => existsSync(f)),
  );
  const newest = files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!newest) throw new Error(`no Promptloom.log under ${logs}`);
  return newest;
}

/** Waits for the log line that contains `marker` (unique per test) and returns it. */
function logged(marker: string): Promise<string> {
  return waitFor(`a Promptloom log line with ${marker}`, () =>
    readFileSync(logFile(), 'utf8')
      .split('\n')
      .find((line) => line.includes(marker)),
  );
}

function logLines(marker: string): string[] {
  return readFileSync(logFile(), 'utf8')
    .split('\n')
    .filter((line) => line.includes(marker));
}

async function statusOf(id: string): Promise<string | undefined> {
  const listed = await vscode.commands.executeCommand<ConversationSummary[]>('promptloom.filterConversations', { templatePath: 'messages.prompt' });
  await vscode.commands.executeCommand('promptloom.clearConversationFilter');
  return listed.find((c) => c.id === id)?.status;
}

describe('webview messages are checked before a panel acts on them', function () {
  this.timeout(60_000);

  before(async () => {
    // Commands return the panels themselves only once they run in this extension host; before
    // activation the call would go through the workbench, which keeps data and drops functions.
    await vscode.extensions.getExtension('promptloom.promptloom')!.activate();
  });

  afterEach(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('preview: a malformed values message is dropped and logged, and the form keeps its values', async () => {
    await open('market.prompt');
    const handle = await vscode.commands.executeCommand<{ rendered(): { prompt?: string } | undefined; setValues(v: Record<string, string>): Promise<void> } & Receiving>('promptloom.previewTemplate');
    await handle.setValues({ persona: 'Skeptical Beginner', amount: '$80k' });
    const before = await waitFor('the render', () => (handle.rendered()?.prompt?.includes('$80k') ? handle.rendered() : undefined));

    const marker = randomUUID().slice(0, 8);
    const outcome = await handle.deliver({ type: 'values', values: { persona: 'Anxious Investor', [`no such-${marker}`]: 'x' } });
    assert.equal(outcome.kind, 'dropped');
    const line = await logged(marker);
    assert.match(line, /\[error\] Preview: dropped a message from the webview: message \(values\)\.values key: expected a variable name, got "no such-[0-9a-f]{8}"$/);
    assert.equal(handle.rendered(), before, 'nothing was rendered again');

    // The same route acts on a valid message, so the check above could have failed.
    assert.deepEqual(await handle.deliver({ type: 'values', values: { persona: 'Anxious Investor', amount: '$1' } }), { kind: 'handled' });
    await waitFor('the new render', () => (handle.rendered()?.prompt?.startsWith('Anxious Investor has $1') ? true : undefined));
  });

  it('quality panel: a review with a bad status or id is dropped and logged, and the conversation is not reviewed', async () => {
    const store = await Store.open(vscode.workspace.workspaceFolders![0]!.uri.fsPath);
    let id: string;
    try {
      const templates = new WorkspaceTemplateRepository(store);
      const t = await templates.ensure('messages.prompt', { name: 'Messages fixture', tier: 'template' });
      const v = await templates.recordVersion(t.id, 'messages fixture');
      const { conversationId } = await new WorkspaceGenerationRepository(store).record({
        templateId: t.id, versionId: v.id, parameters: {}, model: 'claude-sonnet-5-5', attempt: 1, status: 'succeeded', inputTokens: 1, outputTokens: 1, costUsd: 0.001, durationMs: 5,
        conversation: { turns: GOOD.turns, quality: toQualityResult(scoreConversation(GOOD, 'template')) },
      });
      id = conversationId!;
    } finally {
      store.close();
    }
    const panel = await vscode.commands.executeCommand<Receiving & { lastView?: { id: string } }>('promptloom.showQualityBreakdown', id);
    await waitFor('the panel view', () => panel.lastView?.id);
    assert.equal(await statusOf(id), 'pending');

    const marker = randomUUID().slice(0, 8);
    const badStatus = await panel.deliver({ type: 'review', id, status: `deleted-${marker}` });
    assert.equal(badStatus.kind, 'dropped');
    assert.match(await logged(marker), /\[error\] Quality panel: dropped a message from the webview: message \(review\)\.status: expected one of "approved", "needs_revision", "rejected", got "deleted-[0-9a-f]{8}"$/);
    // Ids are made lower-case by randomUUID: the same id in capitals is not well-formed.
    const badId = await panel.deliver({ type: 'review', id: id.toUpperCase(), status: 'rejected' });
    assert.equal(badId.kind, 'dropped');
    assert.match(await logged(id.toUpperCase()), /\[error\] Quality panel: dropped a message from the webview: message \(review\)\.id: expected a conversation id, got "[0-9A-F-]{36}"$/);
    assert.equal(await statusOf(id), 'pending', 'not reviewed');

    assert.deepEqual(await panel.deliver({ type: 'review', id, status: 'rejected' }), { kind: 'handled' });
    assert.equal(await statusOf(id), 'rejected');
  });

  it('dashboard: opening a path outside the workspace is dropped; a failing open is logged and the panel keeps working', async () => {
    const panel = await vscode.commands.executeCommand<Receiving>('promptloom.showDashboard');
    const marker = randomUUID().slice(0, 8);

    const outside = await panel.deliver({ type: 'open', file: `../${marker}.prompt` });
    assert.equal(outside.kind, 'dropped');
    assert.match(await logged(marker), /\[error\] Analytics dashboard: dropped a message from the webview: message \(open\)\.file: not a path inside the workspace \(a path with an empty, \. or \.\. segment\), got "\.\.\/[0-9a-f]{8}\.prompt"$/);
    const absolute = await panel.deliver({ type: 'conversations', file: `/etc/${marker}` });
    assert.equal(absolute.kind, 'dropped');
    assert.equal(vscode.window.activeTextEditor, undefined, 'no editor was opened');

    // A valid message for a file that is gone: the handler fails; that is logged, not thrown.
    const failed = 'Analytics dashboard: the webview\'s "open" message failed: ';
    const earlier = logLines(failed).length;
    const missing = await panel.deliver({ type: 'open', file: `missing-${marker}.prompt` });
    assert.equal(missing.kind, 'failed');
    assert.ok(missing.kind === 'failed' && missing.error.length > 0);
    const failure = await waitFor('the failure in the log', () => logLines(failed)[earlier]);
    assert.match(failure, /\[error\] Analytics dashboard: the webview's "open" message failed: /);

    // The panel still works after both.
    assert.deepEqual(await panel.deliver({ type: 'open', file: 'market.prompt' }), { kind: 'handled' });
    assert.equal(vscode.workspace.asRelativePath(vscode.window.activeTextEditor!.document.uri), 'market.prompt');
  });
});
