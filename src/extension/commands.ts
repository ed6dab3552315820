import * as vscode from 'vscode';
import type { ExplicitCell, Sampling } from '../core/plan';
import { askBatch } from './batchPlanner';
import type { Ctx } from './ctx';
import { DEFAULT_SETTINGS } from '../core/generation/settings';
import type { ReviewStatus } from '../core/store';
import { DashboardPanel } from './dashboard/dashboardPanel';
import { exportTrainingData, type ExportRequest } from './exportData';
import { testTemplate } from './testing/templateTestPanel';
import { PreviewPanel } from './preview/previewPanel';
import { ConversationDocuments } from './quality/conversationDocuments';
import { CONVERSATIONS_VIEW, ConversationsView, type ViewFilter } from './quality/conversationsView';
import { QualityPanel } from './quality/qualityPanel';
import { RetrySimulationPanel } from './retry/retrySimulationPanel';
import { editorSettings } from './settings';
import { confirmGenerateInactive, setTemplateActive, type IfInactive } from './templateActive';
import { isTemplate } from './templates';
import type { TemplateFilter, TemplateSort } from '../core/analytics';

/** Every command id, in one place; `package.json` contributes the same ids. */
export const enum CommandId {
  PreviewTemplate = 'promptloom.previewTemplate',
  ShowTemplateHistory = 'promptloom.showTemplateHistory',
  DeleteTemplate = 'promptloom.deleteTemplate',
  RunTestGeneration = 'promptloom.runTestGeneration',
  GenerateBatch = 'promptloom.generateBatch',
  CancelBatch = 'promptloom.cancelBatch',
  ShowQueue = 'promptloom.showQueue',
  ResumeBatch = 'promptloom.resumeBatch',
  CollectMessageBatches = 'promptloom.collectMessageBatches',
  SetApiKey = 'promptloom.setApiKey',
  ShowDatabaseStatus = 'promptloom.showDatabaseStatus',
  SetTeamDatabasePassword = 'promptloom.setTeamDatabasePassword',
  OpenConversation = 'promptloom.openConversation',
  ShowQualityBreakdown = 'promptloom.showQualityBreakdown',
  ApproveConversation = 'promptloom.approveConversation',
  MarkNeedsRevision = 'promptloom.markNeedsRevision',
  RejectConversation = 'promptloom.rejectConversation',
  FilterConversations = 'promptloom.filterConversations',
  GroupConversations = 'promptloom.groupConversations',
  ClearConversationFilter = 'promptloom.clearConversationFilter',
  SortConversationsByScore = 'promptloom.sortConversationsByScore',
  SortConversationsByTime = 'promptloom.sortConversationsByTime',
  RefreshConversations = 'promptloom.refreshConversations',
  ShowTemplateConversations = 'promptloom.showTemplateConversations',
  ShowDashboard = 'promptloom.showDashboard',
  TestTemplate = 'promptloom.testTemplate',
  ExportTrainingData = 'promptloom.exportTrainingData',
  SimulateRetryStrategy = 'promptloom.simulateRetryStrategy',
  OpenTemplate = 'promptloom.openTemplate',
  MarkTemplateActive = 'promptloom.markTemplateActive',
  MarkTemplateInactive = 'promptloom.markTemplateInactive',
  FilterTemplates = 'promptloom.filterTemplates',
  ClearTemplateFilter = 'promptloom.clearTemplateFilter',
  SortTemplatesByName = 'promptloom.sortTemplatesByName',
  SortTemplatesByUsage = 'promptloom.sortTemplatesByUsage',
  SortTemplatesByRating = 'promptloom.sortTemplatesByRating',
  SortTemplatesByModified = 'promptloom.sortTemplatesByModified',
  RefreshTemplates = 'promptloom.refreshTemplates',
  // Internal (hidden from the palette): the steps of the history flow, callable with arguments.
  TemplateVersions = 'promptloom.internal.templateVersions',
  CompareTemplateVersions = 'promptloom.internal.compareTemplateVersions',
  RestoreTemplateVersion = 'promptloom.internal.restoreTemplateVersion',
  // The start-up check for Message Batches at Anthropic, again (tests: with the notice's answer).
  CheckMessageBatches = 'promptloom.internal.checkMessageBatches',
  // What the Conversations view last showed and from which store, without reading again (tests).
  ConversationsShown = 'promptloom.internal.conversationsShown',
  // What the store's status bar item shows now (and showed), without reading again (tests).
  StoreStatusShown = 'promptloom.internal.storeStatusShown',
  // How many times each template's lens and PL011 figures were read from the store, by path (tests).
  TemplateQualityReads = 'promptloom.internal.templateQualityReads',
  // What the Templates view last showed and what its listings read of the figures, without reading again (tests).
  TemplatesShown = 'promptloom.internal.templatesShown',
}

type Handler = (ctx: Ctx, ...args: unknown[]) => unknown;

/** The command table: each id with its handler. */
export const COMMANDS: Readonly<Record<CommandId, Handler>> = {
  [CommandId.PreviewTemplate]: previewTemplate,
  [CommandId.ShowTemplateHistory]: async (ctx, resource) => {
    const uri = await templateUri(resource, 'see its history');
    if (uri) await ctx.history.show(uri);
  },
  [CommandId.RunTestGeneration]: async (ctx, resource, values) => {
    const uri = await templateUri(resource, 'run a test generation');
    if (!uri || !(await confirmGenerateInactive(ctx.templates, uri))) return undefined;
    const outcome = await ctx.generation.run(uri, { count: 1, ...(values && typeof values === 'object' ? { values: values as Record<string, unknown> } : {}) });
    const id = outcome?.conversations[0];
    // Stored where the views read (the workspace or the team database): its transcript opens from there.
    if (id) await ctx.conversationDocs.open(id);
    return outcome;
  },
  [CommandId.GenerateBatch]: async (ctx, resource, given) => {
    const uri = await templateUri(resource, 'generate a batch');
    if (!uri || !(await confirmGenerateInactive(ctx.templates, uri, (given as BatchOptions | undefined)?.ifInactive))) return undefined;
    if (given) {
      const { ifInactive: _answer, ...options } = given as BatchOptions;
      return ctx.generation.run(uri, options);
    }
    const document = await vscode.workspace.openTextDocument(uri);
    const choice = await askBatch(ctx.templates.get(document), ctx.generation.settings(uri).concurrency);
    return choice && ctx.generation.run(uri, { ...choice, confirm: true });
  },
  [CommandId.CancelBatch]: (ctx, batchId) => ctx.generation.cancelBatch(typeof batchId === 'string' ? batchId : undefined),
  [CommandId.ShowQueue]: (ctx) => ctx.generation.showQueue(),
  [CommandId.ResumeBatch]: (ctx, batchId) => ctx.generation.resume(typeof batchId === 'string' ? batchId : undefined),
  // Every batch with Message Batches at Anthropic, collected as `promptloom resume` would.
  [CommandId.CollectMessageBatches]: async (ctx) => {
    const waiting = (await ctx.generation.messageBatches.atAnthropic()).filter((b) => !b.live);
    if (waiting.length === 0) void vscode.window.showInformationMessage('No Message Batch is waiting at Anthropic.');
    return ctx.generation.messageBatches.collect(waiting.map((b) => b.batchId));
  },
  [CommandId.ConversationsShown]: (ctx) => ({ store: ctx.conversations.shownStore, conversations: ctx.conversations.shown }),
  [CommandId.CheckMessageBatches]: (ctx, answer) => ctx.generation.messageBatches.checkAtStartup(typeof answer === 'string' ? answer : undefined),
  [CommandId.SetApiKey]: async (ctx, key) => {
    if (await ctx.generation.setApiKey(typeof key === 'string' ? key : undefined)) void vscode.window.showInformationMessage('Promptloom: API key saved in secret storage.');
  },
  // Which store is in use, as `promptloom db status` says it; the facts are returned (tests).
  // The status bar item's click: the item then checks again (a team database out of reach is tried again).
  [CommandId.ShowDatabaseStatus]: async (ctx) => {
    const status = await ctx.teamDb.showStatus();
    void ctx.storeStatus.check();
    return status;
  },
  [CommandId.StoreStatusShown]: (ctx) => ctx.storeStatus.shown(),
  [CommandId.TemplateQualityReads]: (ctx) => Object.fromEntries(ctx.templateQuality.reads),
  [CommandId.TemplatesShown]: (ctx) => ({ entries: ctx.templatesView.shown, figuresReads: [...ctx.templatesView.figuresReads], figuresReadCount: ctx.templatesView.figuresReadCount }),
  // A password given as an argument (tests) skips the question; '' forgets it.
  [CommandId.SetTeamDatabasePassword]: (ctx, password) => ctx.teamDb.setPassword(typeof password === 'string' ? password : undefined),
  [CommandId.DeleteTemplate]: async (ctx, resource, answer) => {
    const uri = await templateUri(resource, 'delete it');
    // A scripted answer (tests, other extensions) skips the dialog.
    if (uri) return ctx.history.delete(uri, typeof answer === 'string' ? async () => answer : undefined);
    return undefined;
  },
  [CommandId.OpenConversation]: async (ctx, id, options) => {
    const chosen = typeof id === 'string' ? id : await pickConversation(ctx);
    const preserveFocus = typeof options === 'object' && options !== null && (options as { preserveFocus?: unknown }).preserveFocus === true;
    return chosen && ctx.conversationDocs.open(chosen, { preserveFocus });
  },
  [CommandId.ShowQualityBreakdown]: async (ctx, ...args) => {
    const id = conversationOf(ctx, args) ?? (await pickConversation(ctx));
    if (!id) return undefined;
    // From the list (q, the menu), focus stays there so the next key reviews; the selection
    // moves to the row shown, which the panel then follows.
    const fromView = ConversationsView.fromView(args);
    if (fromView) await ctx.conversations.select(id);
    return QualityPanel.show(ctx.qualityDeps, id, { preserveFocus: fromView });
  },
  [CommandId.ApproveConversation]: (ctx, ...args) => review(ctx, args, 'approved'),
  [CommandId.MarkNeedsRevision]: (ctx, ...args) => review(ctx, args, 'needs_revision'),
  [CommandId.RejectConversation]: (ctx, ...args) => review(ctx, args, 'rejected'),
  // A filter given as an argument (tests, other extensions) skips the questions.
  [CommandId.FilterConversations]: async (ctx, given) => {
    if (given && typeof given === 'object') await ctx.conversations.setFilter({ sort: ctx.conversations.currentFilter().sort, ...(given as Partial<ViewFilter>) });
    else await ctx.conversations.chooseFilter();
    return ctx.conversations.listing();
  },
  // A variable given as an argument (tests) skips the question; '' ends the grouping.
  [CommandId.GroupConversations]: async (ctx, given) => {
    if (typeof given === 'string') {
      const { groupBy: _old, ...rest } = ctx.conversations.currentFilter();
      await ctx.conversations.setFilter({ ...rest, ...(given ? { groupBy: given } : {}) });
    } else await ctx.conversations.chooseGrouping();
    return ctx.conversations.getChildren();
  },
  [CommandId.ClearConversationFilter]: (ctx) => ctx.conversations.setFilter({ sort: ctx.conversations.currentFilter().sort }),
  [CommandId.SortConversationsByScore]: (ctx) => ctx.conversations.setFilter({ ...ctx.conversations.currentFilter(), sort: 'score' }),
  [CommandId.SortConversationsByTime]: (ctx) => ctx.conversations.setFilter({ ...ctx.conversations.currentFilter(), sort: 'time' }),
  [CommandId.RefreshConversations]: (ctx) => {
    ctx.conversations.refresh();
    return ctx.conversations.listing();
  },
  [CommandId.ShowTemplateConversations]: async (ctx, resource) => {
    const uri = await templateUri(resource, 'see its conversations');
    const path = uri && ctx.db.relativePath(uri);
    if (!path) return;
    await ctx.conversations.setFilter({ sort: ctx.conversations.currentFilter().sort, templatePath: path });
    await vscode.commands.executeCommand(`${CONVERSATIONS_VIEW}.focus`);
  },
  [CommandId.ShowDashboard]: (ctx) => DashboardPanel.show(ctx.dashboardDeps),
  [CommandId.TestTemplate]: async (ctx, resource, runs) => {
    const uri = await templateUri(resource, 'test it');
    return uri && testTemplate(ctx.testDeps, uri, typeof runs === 'number' ? runs : undefined);
  },
  // A full request as the argument (tests, other extensions) skips the questions and the dialog.
  [CommandId.ExportTrainingData]: async (ctx, request) => {
    // From the store the views show (the team database when the setting chooses it).
    return exportTrainingData(ctx, request && typeof request === 'object' ? (request as ExportRequest) : undefined);
  },
  [CommandId.SimulateRetryStrategy]: (ctx) => RetrySimulationPanel.show(ctx.retryDeps),
  [CommandId.OpenTemplate]: async (_ctx, resource) => {
    const uri = await templateUri(resource, 'open it');
    return uri && vscode.window.showTextDocument(uri, { preview: false });
  },
  [CommandId.MarkTemplateActive]: (ctx, resource) => markActive(ctx, resource, true),
  [CommandId.MarkTemplateInactive]: (ctx, resource) => markActive(ctx, resource, false),
  // A filter given as an argument (tests, other extensions) skips the questions.
  [CommandId.FilterTemplates]: async (ctx, given) => {
    if (given && typeof given === 'object') await ctx.templatesView.setState({ ...ctx.templatesView.current(), filter: given as TemplateFilter });
    else await ctx.templatesView.chooseFilter();
    return ctx.templatesView.shownRows();
  },
  [CommandId.ClearTemplateFilter]: (ctx) => sortOrFilter(ctx, { filter: {} }),
  [CommandId.SortTemplatesByName]: (ctx) => sortOrFilter(ctx, { sort: 'name' }),
  [CommandId.SortTemplatesByUsage]: (ctx) => sortOrFilter(ctx, { sort: 'usage' }),
  [CommandId.SortTemplatesByRating]: (ctx) => sortOrFilter(ctx, { sort: 'rating' }),
  [CommandId.SortTemplatesByModified]: (ctx) => sortOrFilter(ctx, { sort: 'modified' }),
  [CommandId.RefreshTemplates]: (ctx) => {
    ctx.templatesView.rescan();
    return ctx.templatesView.shownRows();
  },
  [CommandId.TemplateVersions]: async (ctx, resource) => (await ctx.history.versions(resource as vscode.Uri))?.versions ?? [],
  [CommandId.CompareTemplateVersions]: (ctx, resource, a, b) => ctx.history.compare(resource as vscode.Uri, a as number, b as number | undefined),
  [CommandId.RestoreTemplateVersion]: (ctx, resource, id) => ctx.history.restore(resource as vscode.Uri, id as number),
};

/**
 * The conversations a review command is about, most explicit first: the view's rows (the clicked
 * or focused row, with the selection), an id (CodeLens, panel), a transcript's URI (editor title),
 * and otherwise (the palette) the transcript in the active editor.
 */
function conversationIds(ctx: Ctx, args: readonly unknown[]): string[] {
  const fromView = ctx.conversations.targets(args);
  if (fromView.length > 0) return fromView;
  const [first] = args;
  // The keys' argument as package.json wrote it: a VS Code that does not resolve it to the focused row.
  if (isUnresolvedTreeArgument(first)) return ctx.conversations.selected();
  if (typeof first === 'string') return [first];
  if (first instanceof vscode.Uri) {
    const id = ConversationDocuments.idOf(first);
    return id ? [id] : [];
  }
  const active = vscode.window.activeTextEditor && ConversationDocuments.idOf(vscode.window.activeTextEditor.document.uri);
  return active ? [active] : [];
}

function isUnresolvedTreeArgument(x: unknown): boolean {
  return typeof x === 'object' && x !== null && (x as { $treeViewId?: unknown }).$treeViewId === CONVERSATIONS_VIEW;
}

function conversationOf(ctx: Ctx, args: readonly unknown[]): string | undefined {
  return conversationIds(ctx, args)[0];
}

async function review(ctx: Ctx, args: readonly unknown[], status: ReviewStatus): Promise<number> {
  const ids = conversationIds(ctx, args);
  if (ids.length === 0) {
    void vscode.window.showInformationMessage('Select conversations in the Conversations view, or open one, to review it.');
    return 0;
  }
  // The order the reviewer sees, before the verdict may take the rows out of a filtered list.
  const before = ctx.conversations.shown.map((c) => c.id);
  const done = await ctx.conversations.review(ids, status);
  // A verdict given in the list moves the selection on; from a transcript or the panel it stays.
  if (ConversationsView.fromView(args)) {
    const toNext = editorSettings(undefined, ctx.log).advanceAfterVerdict ?? DEFAULT_SETTINGS.advanceAfterVerdict;
    const next = await ctx.conversations.advance(ids, toNext, before);
    // The transcript follows the selection when one is showing (the breakdown follows by itself).
    if (next && !ids.includes(next) && ctx.conversationDocs.isShowingTranscript()) await ctx.conversationDocs.open(next, { preserveFocus: true });
  }
  return done;
}

async function pickConversation(ctx: Ctx): Promise<string | undefined> {
  const handle = await ctx.source.read();
  const list = handle ? await handle.conversations.list({ limit: 200 }) : [];
  if (list.length === 0) {
    void vscode.window.showInformationMessage('No conversations yet: generate some from a .prompt template.');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    list.map((c) => ({ label: `${c.overall === null ? '—' : c.overall.toFixed(1)}  ${c.templateName}`, description: `${c.status} · ${new Date(c.createdAt).toLocaleString()}`, detail: c.id, id: c.id })),
    { title: 'Open conversation', matchOnDetail: true },
  );
  return picked?.id;
}

/** Mark Active / Mark Inactive: the front matter's `active:`, written into the file. */
async function markActive(ctx: Ctx, resource: unknown, active: boolean): Promise<boolean> {
  const uri = await templateUri(resource, `mark it ${active ? 'active' : 'inactive'}`);
  return uri ? setTemplateActive(ctx.templates, uri, active) : false;
}

/** Changes the Templates view's sort or filter (remembered), and returns what it then lists. */
async function sortOrFilter(ctx: Ctx, change: { sort?: TemplateSort; filter?: TemplateFilter }) {
  await ctx.templatesView.setState({ ...ctx.templatesView.current(), ...change });
  return ctx.templatesView.shownRows();
}

/** The template a command is about: the one given, or the active editor's; says why when none. */
async function templateUri(resource: unknown, purpose: string): Promise<vscode.Uri | undefined> {
  const uri = resource instanceof vscode.Uri ? resource : vscode.window.activeTextEditor?.document.uri;
  const document = uri && (await vscode.workspace.openTextDocument(uri));
  if (!document || !isTemplate(document)) {
    void vscode.window.showInformationMessage(`Open a .prompt template to ${purpose}.`);
    return undefined;
  }
  return document.uri;
}

/**
 * Opens (or reveals) the live preview of a template: the one given (editor title button,
 * explorer) or the active editor's. Returns a handle on the panel, for scripts and tests.
 */
async function previewTemplate(ctx: Ctx, resource?: unknown): Promise<PreviewHandle | undefined> {
  const uri = await templateUri(resource, 'preview it');
  if (!uri) return undefined;
  const document = await vscode.workspace.openTextDocument(uri);
  const panel = PreviewPanel.createOrShow(ctx.previewDeps, document);
  return {
    uri: document.uri,
    rendered: () => panel.lastRendered,
    setValues: (values) => panel.setValues(values),
    deliver: (raw) => panel.deliver(raw),
    visible: () => !panel.isDisposed && panel.panel.visible,
  };
}

export interface PreviewHandle {
  readonly uri: vscode.Uri;
  readonly rendered: () => PreviewPanel['lastRendered'];
  readonly setValues: PreviewPanel['setValues'];
  /** Posts a message to the panel as its webview would: checked, then handled. */
  readonly deliver: PreviewPanel['deliver'];
  readonly visible: () => boolean;
}

/** What Generate Batch takes from a caller that does not ask (tests, other extensions). */
interface BatchOptions {
  count: number;
  priority?: 'high' | 'normal' | 'low';
  concurrency?: number;
  values?: Record<string, unknown>;
  quiet?: boolean;
  /** Vary chosen variables, or explicit value sets with their counts (`count` is then their sum). */
  plan?: { vary: string[] | 'all'; sampling?: Sampling; seed?: number } | { cells: ExplicitCell[] };
  /** Show the value sets and the estimated cost, and go on only when the person agrees. */
  confirm?: boolean;
  /** The answer when the template is marked inactive (instead of asking). */
  ifInactive?: IfInactive;
}

