/**
 * The template repository's reads, written once against the `Database` handle: the workspace's
 * repository extends this class, and the team store uses it as it is (docs/team-store.md, step 2).
 */
import type { Database } from './database';
import type { TemplateRow, VersionRow, VersionSummary } from './repositories';
import type { Row } from './types';

export class TemplateReads {
  constructor(protected readonly db: Database) {}

  /** The template at `path`; on the team store, where two members have one there, the reader's own. */
  async byPath(path: string): Promise<TemplateRow | undefined> {
    const d = this.db.dialect;
    const row = await this.db.get(`SELECT * FROM ${d.templates} t WHERE path = ? ${d.ownFirst('t')}`, [normalisePath(path)]);
    return row && toTemplate(row);
  }

  async byId(id: number): Promise<TemplateRow | undefined> {
    const row = await this.db.get(`SELECT * FROM ${this.db.dialect.templates} t WHERE id = ?`, [id]);
    return row && toTemplate(row);
  }

  async list(): Promise<TemplateRow[]> {
    return (await this.db.all(`SELECT * FROM ${this.db.dialect.templates} t ORDER BY path, id`)).map(toTemplate);
  }

  /** Its versions, oldest first; `generations` counts everyone's logs (the dialect's generationFigures). */
  async versions(templateId: number): Promise<VersionSummary[]> {
    const rows = await this.db.all(
      `SELECT v.id, v.template_id, v.content_hash, v.created_at,
              (SELECT ${this.db.dialect.total('g.generations')} FROM ${this.db.dialect.generationFigures} g WHERE g.version_id = v.id) AS generations,
              (SELECT count(*) FROM conversations c WHERE c.version_id = v.id) AS conversations,
              (SELECT avg(q.overall) FROM conversations c JOIN quality_scores q ON q.conversation_id = c.id WHERE c.version_id = v.id) AS avg_quality
         FROM template_versions v WHERE v.template_id = ? ORDER BY v.created_at, v.id`,
      [templateId],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      templateId: Number(r.template_id),
      contentHash: String(r.content_hash),
      createdAt: Number(r.created_at),
      generations: Number(r.generations),
      conversations: Number(r.conversations),
      // To 12 significant digits: each backend adds the scores up in its own order (analytics' `settled`).
      avgQuality: r.avg_quality === null ? null : Number(Number(r.avg_quality).toPrecision(12)),
    }));
  }

  async version(id: number): Promise<VersionRow | undefined> {
    const r = await this.db.get('SELECT * FROM template_versions WHERE id = ?', [id]);
    return r && { id: Number(r.id), templateId: Number(r.template_id), contentHash: String(r.content_hash), content: String(r.content), createdAt: Number(r.created_at) };
  }

  /** Generations (everyone's, on the team store) and conversations of the template: what its usage counts are made of. */
  async usage(templateId: number): Promise<{ generations: number; conversations: number }> {
    const r = (await this.db.get(
      `SELECT coalesce((SELECT generations FROM ${this.db.dialect.templateGenerations} g WHERE template_id = ?), 0) AS generations,
              (SELECT count(*) FROM conversations WHERE template_id = ?) AS conversations`,
      [templateId, templateId],
    ))!;
    return { generations: Number(r.generations), conversations: Number(r.conversations) };
  }
}

/** Workspace-relative with `/`, so the same file has one row on every platform. */
export function normalisePath(path: string): string {
  return path.replace(/\\/g, '/').replace(/^\.\//, '');
}

export function toTemplate(r: Row): TemplateRow {
  return {
    id: Number(r.id),
    path: String(r.path),
    name: String(r.name),
    tier: String(r.tier),
    active: Number(r.active) === 1,
    deletedAt: r.deleted_at === null ? null : Number(r.deleted_at),
    createdAt: Number(r.created_at),
  };
}
