import * as vscode from 'vscode';
import type { ConversationStatus, ConversationSummary, ReviewStatus } from '../../core/store';
import { nextToReview } from '../../core/quality/reviewQueue';
import { Disposable } from '../disposable';
import type { StoreKind, StoreSource } from '../storeSource';
import { statusWords } from './transcript';

export const CONVERSATIONS_VIEW = 'promptloom.conversations';

/** What the Conversations view shows: kept per workspace. */
export interface ViewFilter {
  readonly templatePath?: string;
  readonly status?: ConversationStatus;
  readonly minQuality?: number;
  readonly maxQuality?: number;
  readonly sort: 'time' | 'score';
  /** Group the list by the value of this variable (a plan's varied value, say). */
  readonly groupBy?: string;
}

/** A group of the list: the conversations whose `groupBy` variable has this value. */
export interface ConversationGroup {
  readonly kind: 'group';
  readonly variable: string;
  readonly value: string;
  readonly conversations: readonly ConversationSummary[];
}

type Node = ConversationSummary | ConversationGroup;

const isGroup = (n: Node): n is ConversationGroup => (n as ConversationGroup).kind === 'group';

const FILTER_KEY = 'promptloom.conversations.filter';
const REFRESH_DELAY_MS = 200;

const STATUS_ICONS: Readonly<Record<ConversationStatus, vscode.ThemeIcon>> = {
  pending: new vscode.ThemeIcon('circle-large-outline'),
  approved: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  rejected: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  needs_revision: new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground')),
};

/**
 * The Conversations view: every stored conversation, filtered by template, status and quality
 * range, sorted by time or by score, with review actions (buttons, context menu, keys a/n/r/q).
 * Buttons and menus act on the clicked row with the selection; keys on the focused row (see
 * `targets`). After a verdict given here the next conversation awaiting one is selected.
 */
export class ConversationsView extends Disposable implements vscode.TreeDataProvider<Node> {
  private readonly changed = this.register(new vscode.EventEmitter<void>());
  readonly onDidChangeTreeData = this.changed.event;
  readonly view: vscode.TreeView<Node>;
  private filter: ViewFilter;
  private timer: NodeJS.Timeout | undefined;
  /** The top-level nodes last read: what `getChildren` answers at once (see `reload`). */
  private kept: Node[] | undefined;
  /** What `kept` shows, in short: a reload that finds the same list tells VS Code nothing. */
  private keptSignature = '';
  /** The reload now running: reloads run one after another, so the last one read is the newest. */
  private reading: Promise<Node[]> = Promise.resolve([]);
  /** What the view last showed, for tests and for commands run from the palette. */
  shown: readonly ConversationSummary[] = [];
  /** The store the list was last read from (the team's or the workspace's), for the title and tests. */
  shownStore: StoreKind | undefined;

  constructor(
    private readonly source: StoreSource,
    private readonly state: vscode.Memento,
  ) {
    super();
    this.filter = state.get<ViewFilter>(FILTER_KEY) ?? { sort: 'time' };
    this.view = this.register(vscode.window.createTreeView(CONVERSATIONS_VIEW, { treeDataProvider: this, canSelectMany: true }));
    this.describe();
    source.onDidChange(() => this.refresh(), this, this.subscriptions);
    this.register({ dispose: () => clearTimeout(this.timer) });
  }

  /**
   * Re-reads the database soon; bursts of writes (a batch) cost one query. A hidden view reads
   * nothing: its kept list is dropped, and VS Code asks for the children when it shows it again.
   */
  refresh(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.view.visible) {
        void this.reload().catch(() => undefined);
      } else {
        this.kept = undefined;
        this.changed.fire();
      }
    }, REFRESH_DELAY_MS);
  }

  /** The conversations the view shows now (read afresh), groups opened. */
  async listing(): Promise<ConversationSummary[]> {
    const top = await this.reload();
    return top.flatMap((n) => (isGroup(n) ? [...n.conversations] : [n]));
  }

  currentFilter(): ViewFilter {
    return this.filter;
  }

  async setFilter(filter: ViewFilter): Promise<void> {
    this.filter = filter;
    await this.state.update(FILTER_KEY, filter);
    this.describe();
    await this.reload();
  }

  /**
   * The list from what was last read (read first when nothing was yet). VS Code's
   * `TreeView.reveal` (what moves the selection after a verdict, or to the row a `q` shows) can
   * hang for good when it meets a refresh of the tree still fetching its children; a read through
   * the workspace database's worker is a message each way, which widened that window enough to
   * hit it. So the list is read before the view is told it changed (`reload`), and a refresh's
   * children are answered at once.
   */
  async getChildren(element?: Node): Promise<Node[]> {
    if (element) return isGroup(element) ? [...element.conversations] : [];
    return [...(this.kept ?? (await this.reload()))];
  }

  /**
   * Reads the list (after any reload already running) and keeps it; tells VS Code only when what
   * it shows changed (a list read again for a reveal changes nothing on screen).
   */
  private reload(): Promise<Node[]> {
    this.reading = this.reading.catch(() => undefined).then(() => this.read());
    return this.reading;
  }

  private async read(): Promise<Node[]> {
    const handle = await this.source.read();
    const { sort, groupBy, ...where } = this.filter;
    this.shown = handle ? await handle.conversations.list({ ...where, sort }) : [];
    // Say which store the list shows (the team's), and why it is empty when the store cannot be read.
    this.view.message = this.source.problem ?? '';
    if (this.shownStore !== handle?.store) {
      this.shownStore = handle?.store;
      this.describe();
    }
    const nodes = groupBy ? groupsOf(this.shown, groupBy) : [...this.shown];
    const signature = signatureOf(this.shown, groupBy);
    const told = this.kept !== undefined && signature !== this.keptSignature;
    this.kept = nodes;
    this.keptSignature = signature;
    if (told) this.changed.fire();
    return nodes;
  }

  /** The variables of the conversations listed, to group by. */
  variables(): string[] {
    return [...new Set(this.shown.flatMap((c) => Object.keys(c.parameters)))].sort();
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (isGroup(node)) {
      const scored = node.conversations.filter((c) => c.overall !== null);
      const average = scored.length ? (scored.reduce((n, c) => n + c.overall!, 0) / scored.length).toFixed(1) : '—';
      const approved = node.conversations.filter((c) => c.status === 'approved').length;
      const item = new vscode.TreeItem(`${node.variable} = ${node.value}`, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `group:${node.variable}:${node.value}`;
      item.description = `${node.conversations.length} · ${approved} approved · quality ${average}`;
      item.iconPath = new vscode.ThemeIcon('symbol-enum-member');
      item.contextValue = 'conversationGroup';
      return item;
    }
    const c = node;
    const score = c.overall === null ? '—' : c.overall.toFixed(1);
    const values = Object.values(c.parameters).map(String).filter((v) => v.length <= 40);
    const item = new vscode.TreeItem(`${score}  ${values.length ? values.join(' · ') : c.templateName}`);
    item.id = c.id;
    item.description = `${c.id.slice(0, 8)} · ${statusWords(c.status)} · ${c.templateName} · ${ago(c.createdAt)}`;
    item.iconPath = STATUS_ICONS[c.status];
    item.contextValue = `conversation.${c.status}`;
    // Focus stays in the list, so a reviewer can read the transcript and press a, n or r.
    item.command = { title: 'Open Conversation', command: 'promptloom.openConversation', arguments: [c.id, { preserveFocus: true }] };
    const tooltip = new vscode.MarkdownString(undefined, false);
    tooltip.appendMarkdown(`**Quality ${score}** · ${statusWords(c.status)}\n\n`);
    tooltip.appendText(`${c.templatePath} · ${new Date(c.createdAt).toLocaleString()}\n`);
    if (c.statusReason) tooltip.appendText(`\n${c.statusReason}\n`);
    for (const r of c.recommendations.slice(0, 3)) tooltip.appendText(`\n• ${r}`);
    item.tooltip = tooltip;
    item.accessibilityInformation = { label: `Quality ${score}, ${statusWords(c.status)}, ${c.templateName}${values.length ? `, ${values.join(', ')}` : ''}, ${ago(c.createdAt)}`, role: 'treeitem' };
    return item;
  }

  /**
   * The conversations a command from this view is about. A button or menu passes the clicked row
   * and the selection. A key passes only the focused row (package.json's keybindings ask VS Code
   * for it with `$focusedTreeItem`, its own argument for tree views, because ↓ moves the focus
   * but not the selection): the selection when the focused row is part of it, else that row.
   */
  targets(args: readonly unknown[]): string[] {
    const [first, many] = args;
    if (Array.isArray(many) && many.length > 0) return many.filter(isSummary).map((c) => c.id);
    if (!isSummary(first)) return [];
    const selected = this.selected();
    return selected.length > 1 && selected.includes(first.id) ? selected : [first.id];
  }

  /** True when a command's arguments come from this view's rows (a key, a button, a menu). */
  static fromView(args: readonly unknown[]): boolean {
    return isSummary(args[0]);
  }

  /** What is selected in the view; a group is not a conversation. */
  selected(): string[] {
    return this.view.selection.filter(isSummary).map((c) => c.id);
  }

  /**
   * Selects a conversation (and moves the keyboard focus to it) without taking focus from the
   * list; false when the view does not list it.
   */
  async select(id: string): Promise<boolean> {
    const listing = await this.listing();
    const row = listing.find((c) => c.id === id);
    // Only keys and menus of this view call it, so the view is on screen; its \`visible\` flag can
    // lag the focus command that showed it, so it is not asked (reveal shows the view anyway).
    if (!row) return false;
    await this.view.reveal(row, { select: true, focus: true });
    return true;
  }

  /**
   * After verdicts given in this view: selects the next conversation awaiting one (the setting
   * `promptloom.review.advanceAfterVerdict`), or else the one reviewed, so the selection (which the
   * transcript and the breakdown follow) is where the keys acted. Returns the id selected.
   */
  async advance(reviewed: readonly string[], toNext: boolean, before?: readonly string[]): Promise<string | undefined> {
    const listing = await this.listing();
    const next = toNext ? nextToReview(listing, reviewed, before) : undefined;
    const target = next?.id ?? (reviewed.length === 1 ? reviewed[0] : undefined);
    return target && (await this.select(target)) ? target : undefined;
  }

  /** A row's parent: its group when the list is grouped (VS Code needs it to reveal a row). */
  getParent(node: Node): Node | undefined {
    const { groupBy } = this.filter;
    if (isGroup(node) || !groupBy) return undefined;
    const value = groupValue(node, groupBy);
    return { kind: 'group', variable: groupBy, value, conversations: this.shown.filter((c) => groupValue(c, groupBy) === value) };
  }

  /** Asks which variable to group the list by (or none). */
  async chooseGrouping(): Promise<void> {
    await this.reload();
    const variables = this.variables();
    type Item = vscode.QuickPickItem & { value?: string };
    const picked = await vscode.window.showQuickPick<Item>([{ label: 'No grouping' }, ...variables.map((v) => ({ label: v, value: v, ...(v === this.filter.groupBy ? { description: 'current' } : {}) }))], {
      title: 'Group conversations by the value of',
    });
    if (!picked) return;
    const { groupBy: _old, ...rest } = this.filter;
    await this.setFilter({ ...rest, ...(picked.value ? { groupBy: picked.value } : {}) });
  }

  async review(ids: readonly string[], status: ReviewStatus): Promise<number> {
    const handle = await this.source.write();
    if (!handle || ids.length === 0) return 0;
    const done: string[] = [];
    for (const id of ids) if (await handle.conversations.review(id, status)) done.push(id);
    this.source.wrote();
    vscode.window.setStatusBarMessage(`Promptloom: ${done.length} ${done.length === 1 ? 'conversation' : 'conversations'} ${statusWords(status)}`, 4000);
    return done.length;
  }

  /** Asks for template, status and quality range, one step at a time. */
  async chooseFilter(): Promise<void> {
    const handle = await this.source.read();
    const templates = handle ? await handle.templates.list() : [];
    type Pick<T> = vscode.QuickPickItem & { value: T };
    const template = await vscode.window.showQuickPick<Pick<string | undefined>>(
      [{ label: 'All templates', value: undefined }, ...templates.map((t) => ({ label: t.name, description: t.path, value: t.path }))],
      { title: 'Filter conversations (1/3): template' },
    );
    if (!template) return;
    const statuses: ConversationStatus[] = ['pending', 'needs_revision', 'approved', 'rejected'];
    const status = await vscode.window.showQuickPick<Pick<ConversationStatus | undefined>>(
      [{ label: 'Any status', value: undefined }, ...statuses.map((s) => ({ label: statusWords(s), value: s }))],
      { title: 'Filter conversations (2/3): status' },
    );
    if (!status) return;
    const range = await vscode.window.showInputBox({
      title: 'Filter conversations (3/3): quality range',
      prompt: 'From–to, out of 10 (for example 0-6); empty for any score',
      value: this.filter.minQuality !== undefined || this.filter.maxQuality !== undefined ? `${this.filter.minQuality ?? 0}-${this.filter.maxQuality ?? 10}` : '',
      validateInput: (v) => (parseRange(v) ? undefined : 'Two numbers from 0 to 10, like 0-6, or nothing.'),
    });
    if (range === undefined) return;
    const { min, max } = parseRange(range)!;
    await this.setFilter({
      sort: this.filter.sort,
      ...(template.value !== undefined ? { templatePath: template.value } : {}),
      ...(status.value !== undefined ? { status: status.value } : {}),
      ...(min !== undefined ? { minQuality: min } : {}),
      ...(max !== undefined ? { maxQuality: max } : {}),
    });
  }

  private isFiltered(): boolean {
    const { sort: _sort, groupBy: _groupBy, ...where } = this.filter;
    return Object.keys(where).length > 0;
  }

  /** The filter in words under the view's title, and context keys for the title actions. */
  private describe(): void {
    const f = this.filter;
    const parts = [
      this.shownStore === 'postgresql' ? 'team database' : undefined,
      f.templatePath,
      f.status && statusWords(f.status),
      f.minQuality !== undefined || f.maxQuality !== undefined ? `quality ${f.minQuality ?? 0}–${f.maxQuality ?? 10}` : undefined,
      f.sort === 'score' ? 'lowest score first' : undefined,
      f.groupBy ? `by ${f.groupBy}` : undefined,
    ].filter((p): p is string => p !== undefined);
    this.view.description = parts.join(' · ');
    void vscode.commands.executeCommand('setContext', 'promptloom.conversationsFiltered', this.isFiltered());
    void vscode.commands.executeCommand('setContext', 'promptloom.conversationsByScore', f.sort === 'score');
  }
}

/** Groups in the order their first conversation comes (the sort's order); no value last. */
function groupsOf(shown: readonly ConversationSummary[], groupBy: string): ConversationGroup[] {
  const groups = new Map<string, ConversationSummary[]>();
  for (const c of shown) {
    const value = groupValue(c, groupBy);
    groups.set(value, [...(groups.get(value) ?? []), c]);
  }
  return [...groups].map(([value, conversations]) => ({ kind: 'group', variable: groupBy, value, conversations }));
}

/** What a row shows that can change (its score, status, reason, template), and the grouping: equal when the view would look the same. */
function signatureOf(shown: readonly ConversationSummary[], groupBy: string | undefined): string {
  const rows = shown.map((c) => `${c.id}|${c.status}|${c.overall}|${c.statusReason ?? ''}|${c.templateName}|${groupBy ? groupValue(c, groupBy) : ''}`);
  return `${groupBy ?? ''}\n${rows.join('\n')}`;
}

/** The group a conversation falls in: its value of the variable, or "(no value)". */
function groupValue(c: ConversationSummary, variable: string): string {
  return Object.prototype.hasOwnProperty.call(c.parameters, variable) ? String(c.parameters[variable]) : '(no value)';
}

function isSummary(x: unknown): x is ConversationSummary {
  return typeof x === 'object' && x !== null && (x as ConversationGroup).kind !== 'group' && typeof (x as ConversationSummary).id === 'string' && 'status' in x;
}

/** "0-6", "5 – 8", "" → bounds; undefined when malformed. */
export function parseRange(text: string): { min?: number; max?: number } | undefined {
  const t = text.trim();
  if (t === '') return {};
  const m = /^(\d+(?:\.\d+)?)\s*[-–]\s*(\d+(?:\.\d+)?)$/.exec(t);
  if (!m) return undefined;
  const [min, max] = [Number(m[1]), Number(m[2])];
  return min <= max && max <= 10 ? { min, max } : undefined;
}

function ago(time: number): string {
  const s = Math.max(0, (Date.now() - time) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(time).toLocaleDateString();
}
