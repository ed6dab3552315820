/**
 * Teammates' changes as they land: one dedicated connection LISTENs on the channel the team
 * database's triggers notify (migration 2), gathers a burst of notifications into one event, and
 * comes back by itself after the server restarts or the connection drops.
 *
 * A listener needs a connection of its own: LISTEN holds a session, and a pooled connection
 * handed to other work would lose it.
 */
import type { Client, Notification } from 'pg';
import { TeamDatabaseError, connectTeamDatabase, teamErrorMessage } from './connection';
import { CHANGES_CHANNEL } from './migrations';

/** What changed during one window: enough for a view to know what to reload. */
export interface TeamChange {
  /** Tables with inserted or updated rows (conversations, reviews, quality_scores, generation_logs). */
  readonly tables: ReadonlySet<string>;
  /** Templates those rows belong to (a log on another's inactive template names none). */
  readonly templateIds: ReadonlySet<number>;
  /** Conversations inserted, updated, reviewed or scored. */
  readonly conversationIds: ReadonlySet<string>;
  /**
   * True after the connection came back: notifications sent while it was away are lost for
   * good, so anything may have changed and a view should reload all it shows.
   */
  readonly everything: boolean;
}

export type TeamChangesState = 'connected' | 'reconnecting' | 'closed';

export interface TeamChangesOptions {
  /** Notifications within this window after the first one make one event. */
  readonly debounceMs?: number;
  /** First wait before reconnecting; doubled after each failure up to maxReconnectDelayMs. */
  readonly reconnectDelayMs?: number;
  readonly maxReconnectDelayMs?: number;
  /** Connection state changes, with a password-free reason when the connection was lost. */
  readonly onState?: (state: TeamChangesState, reason?: string) => void;
}

export class TeamChanges {
  private client: Client | undefined;
  private closed = false;
  private pending: { tables: Set<string>; templateIds: Set<number>; conversationIds: Set<string>; everything: boolean } | undefined;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly debounceMs: number;
  private readonly reconnectDelayMs: number;
  private readonly maxReconnectDelayMs: number;

  private constructor(
    private readonly url: string,
    private readonly onChange: (change: TeamChange) => void,
    private readonly options: TeamChangesOptions,
  ) {
    this.debounceMs = options.debounceMs ?? 200;
    this.reconnectDelayMs = options.reconnectDelayMs ?? 250;
    this.maxReconnectDelayMs = options.maxReconnectDelayMs ?? 5_000;
  }

  /**
   * Connects and starts listening. The first connection must succeed (a wrong URL or password is
   * the caller's to report, as a TeamDatabaseError); later losses are retried without end.
   */
  static async listen(url: string, onChange: (change: TeamChange) => void, options: TeamChangesOptions = {}): Promise<TeamChanges> {
    const changes = new TeamChanges(url, onChange, options);
    await changes.connect();
    return changes;
  }

  /** Stops listening and ends the connection; no event is emitted after it resolves. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.flushTimer);
    clearTimeout(this.reconnectTimer);
    this.pending = undefined;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
    this.options.onState?.('closed');
  }

  private async connect(): Promise<void> {
    const client = await connectTeamDatabase(this.url, { keepAliveMs: 30_000 });
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    client.on('notification', (message: Notification) => this.take(message));
    // 'end' follows every way a connection dies (server shutdown, network reset, error), once.
    client.on('end', () => this.lost(client, 'the connection ended'));
    client.on('error', (error: Error) => this.lost(client, teamErrorMessage(error, this.url)));
    try {
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.client = client;
    this.options.onState?.('connected');
  }

  /** The connection is gone: try again after a pause, longer after each failure. */
  private lost(client: Client, reason: string): void {
    if (this.closed || this.client !== client) return; // already handled, or closing on purpose
    this.client = undefined;
    client.end().catch(() => undefined);
    this.options.onState?.('reconnecting', reason);
    this.scheduleReconnect(this.reconnectDelayMs);
  }

  private scheduleReconnect(delay: number): void {
    this.reconnectTimer = setTimeout(() => {
      this.connect().then(
        () => {
          if (this.closed) return;
          // Whatever was notified while we were away is lost: say so, once.
          this.pendingChange().everything = true;
          this.scheduleFlush();
        },
        (error: unknown) => {
          if (this.closed) return;
          this.options.onState?.('reconnecting', error instanceof TeamDatabaseError ? error.message : teamErrorMessage(error, this.url));
          this.scheduleReconnect(Math.min(delay * 2, this.maxReconnectDelayMs));
        },
      );
    }, delay);
  }

  private take(message: Notification): void {
    if (this.closed || message.channel !== CHANGES_CHANNEL) return;
    const payload = parsePayload(message.payload);
    if (!payload) return;
    const change = this.pendingChange();
    change.tables.add(payload.table);
    if (payload.template !== undefined) change.templateIds.add(payload.template);
    if (payload.conversation !== undefined) change.conversationIds.add(payload.conversation);
    this.scheduleFlush();
  }

  private pendingChange(): NonNullable<TeamChanges['pending']> {
    this.pending ??= { tables: new Set(), templateIds: new Set(), conversationIds: new Set(), everything: false };
    return this.pending;
  }

  /**
   * The window opens at the first notification and is not extended by later ones, so a steady
   * stream still yields an event every debounceMs instead of none until it stops.
   */
  private scheduleFlush(): void {
    if (this.flushTimer !== undefined) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      const change = this.pending;
      this.pending = undefined;
      if (change && !this.closed) this.onChange(change);
    }, this.debounceMs);
  }
}

export interface ChangePayload {
  readonly table: string;
  readonly template?: number;
  readonly conversation?: string;
}

/** A trigger's payload, or undefined when it is not one (anyone may NOTIFY on any channel). */
export function parsePayload(text: string | undefined): ChangePayload | undefined {
  if (!text) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { table, template, conversation } = value as Record<string, unknown>;
  if (typeof table !== 'string') return undefined;
  return {
    table,
    ...(typeof template === 'number' && Number.isSafeInteger(template) ? { template } : {}),
    ...(typeof conversation === 'string' ? { conversation } : {}),
  };
}
