/**
 * One way to prepare work in a workspace, used by both shells (the CLI and the editor) so they
 * cannot drift: the settings with their precedence, the model aliases templates may name, how a
 * template is parsed, which model a batch uses, and a batch ready for the engine. The shells only
 * gather their inputs (flags and `.vscode/settings.json`, or VS Code's configuration) and present
 * the outcome.
 */
import { relative, resolve } from 'node:path';
import { planResume, type BatchCell, type BatchInput, type ResumePlan, type TeamResumeInput } from './generation/batch';
import type { Database, WorkspaceDatabase } from './store/database';
import { replaySpool, SPOOL_DIR } from './generation/teamSpool';
import { teamBatchAuthor } from './generation/messageBatches';
import { messageBatchResumeLeft } from './generation/messageBatchRecords';
import { buildPlan, explicitPlan, parseValuesFile, type ExplicitCell, type PlanProblem, type Sampling, type ValuesFileKind } from './plan';
import { importKeptAside } from './generation/unstored';
import { WorkspaceBatchRepository, WorkspaceTemplateRepository, type BatchRow } from './store';
import { resolveModel, type ModelInfo } from './generation/engine';
import type { Priority } from './generation/priorityQueue';
import { mergeSettings, storedSettings, type GenerationSettings } from './generation/settings';
import { parseTemplate, renderTemplate, type Diagnostic, type ParsedTemplate, type ParseOptions, type RawParameters, type Rendered, type RenderProblem } from './template';

export class Workspace {
  readonly settings: GenerationSettings;

  /** `layers`: settings from the lowest precedence to the highest (workspace file, then flags). */
  constructor(
    readonly folder: string,
    layers: readonly Partial<GenerationSettings>[] = [],
  ) {
    this.settings = mergeSettings(...layers);
  }

  /** The aliases `model:` may name: the model table's (the defaults' when settings add none). */
  get modelAliases(): string[] {
    return this.settings.models.flatMap((m) => (m.alias ? [m.alias] : []));
  }

  parseOptions(fileName: string): ParseOptions {
    return { fileName, modelAliases: this.modelAliases };
  }

  parse(text: string, fileName: string): ParsedTemplate {
    return parseTemplate(text, this.parseOptions(fileName));
  }

  /** A template's path as the database records it: relative to the workspace, with `/`. */
  templatePath(file: string): string {
    return relative(this.folder, resolve(this.folder, file)).split('\\').join('/');
  }

  /** The model of a batch: the one asked for (a flag), else the template's `model:`, else the setting. */
  model(template: ParsedTemplate, asked?: string): { model: ModelInfo } | { problem: string } {
    const name = asked ?? template.settings.model ?? this.settings.model;
    const model = resolveModel(name, this.settings.models);
    if (model) return { model };
    return { problem: `unknown model "${name}": use an alias (${this.settings.models.map((m) => m.alias ?? m.id).join(', ')}) or a claude-… id` };
  }

  /**
   * What finishing a stored batch needs: its template version parsed as any template of this
   * workspace is (the model table's aliases), its values, its own settings priced by the current
   * model table. Answers kept aside are imported first, so they are counted, never generated
   * again. Undefined when nothing is left to do; throws a message for the user when the batch
   * cannot run any more.
   */
  async prepareResume(store: WorkspaceDatabase, batchId?: string): Promise<Omit<BatchInput, Exclude<ShellPart, 'store' | 'resume'>> | undefined> {
    await importKeptAside(store);
    const plan = await planResume(store, batchId);
    if (!plan) return undefined;
    const { settings, model, template, render } = this.storedBatch(plan);
    if (plan.remaining === 0) return undefined;
    return {
      ...(plan.cells ? { cells: plan.cells.map((c) => ({ rendered: render(c.values), count: c.remaining })) } : {}),
      store,
      templatePath: plan.templatePath,
      templateText: plan.templateText,
      template,
      rendered: render(plan.batch.parameters),
      settings,
      model,
      count: plan.remaining,
      resume: { batchId: plan.batch.id, templateId: plan.batch.templateId, versionId: plan.batch.versionId, completed: plan.batch.completed },
    };
  }

  /**
   * A stored batch as this workspace runs it: its own settings priced by the current model table,
   * its template version parsed as any template here is, and how a set of values renders. Throws a
   * message for the user when the model or the template no longer serves.
   */
  private storedBatch(plan: Pick<ResumePlan, 'batch' | 'templateText' | 'templatePath'>): { settings: GenerationSettings; model: ModelInfo; template: ParsedTemplate; render: (values: Readonly<Record<string, unknown>>) => Rendered } {
    const settings = mergeSettings(storedSettings(plan.batch.settings), { models: this.settings.models });
    const model = resolveModel(plan.batch.model, settings.models);
    if (!model) throw new Error(`the batch used model ${plan.batch.model}, which is not in the model table`);
    const template = this.parse(plan.templateText, plan.templatePath);
    const render = (values: Readonly<Record<string, unknown>>) => {
      const rendered = renderTemplate(template, values);
      if (!rendered.ok) throw new Error(`the batch's stored template no longer renders: ${rendered.problems.map((p) => p.message).join('; ')}`);
      return rendered.value;
    };
    return { settings, model, template, render };
  }

  /**
   * What resuming a team batch needs (`runTeamResume`): its plan (what is missing) read through
   * the team's handle, its template version parsed as here, its own settings priced by the current
   * model table, and how a slot's values render. Undefined when nothing is missing.
   */
  async prepareTeamResume(db: Database, batchId: string): Promise<(Omit<TeamResumeInput, 'db' | 'folder' | 'apiKey' | 'baseURL' | 'started' | 'onAttempt'> & { readonly remaining: number }) | undefined> {
    const plan = await planResume(db, batchId);
    if (!plan || plan.remaining === 0) return undefined;
    const { settings, model, template, render } = this.storedBatch(plan);
    return { plan, render, templatePath: plan.templatePath, templateText: plan.templateText, template, rendered: render(plan.batch.parameters), settings, model, remaining: plan.remaining };
  }

  /**
   * The team batch a resume takes up, for both shells: the one named, or the newest unfinished one
   * the member may see (row-level security decides). Throws `TeamResumeRefusal` (one line for the
   * person) when there is no such batch.
   */
  async teamBatchToResume(db: Database, batchId?: string): Promise<BatchRow> {
    const batches = new WorkspaceBatchRepository(db);
    const batch = batchId ? await batches.get(batchId) : (await batches.unfinished())[0];
    if (!batch) throw new TeamResumeRefusal(batchId ? `no batch ${batchId} on the team database that you may see` : 'no unfinished batch on the team database');
    return batch;
  }

  /**
   * A direct team batch taken up (`teamBatchToResume`) and prepared for `runTeamResume`.
   * `prepared` is undefined when nothing is missing. Throws `TeamResumeRefusal` also for a batch
   * sent through Message Batches (the CLI re-attaches to those itself) and when its model or
   * template no longer serves.
   */
  async teamResume(db: Database, batchId?: string): Promise<{ batch: BatchRow; prepared: Awaited<ReturnType<Workspace['prepareTeamResume']>> }> {
    const batch = await this.teamBatchToResume(db, batchId);
    if (batch.settings.mode === 'batch') {
      throw new TeamResumeRefusal(`batch ${batch.id} was sent through Message Batches: it is collected by its author's resume (teamMessageBatchResume), never claimed`);
    }
    try {
      return { batch, prepared: await this.prepareTeamResume(db, batch.id) };
    } catch (error) {
      throw new TeamResumeRefusal((error as Error).message);
    }
  }

  /**
   * A team batch sent through Message Batches, taken up by its author, for both shells: its input
   * for `runTeamMessageBatches`, or undefined when it is complete with nothing of it left at
   * Anthropic. Throws `TeamResumeRefusal` for another member's (its Message Batches are the
   * author's rows, in the author's Anthropic account, and what is done of it is known from them)
   * and when its model or template no longer serves.
   */
  async teamMessageBatchResume(db: Database, batch: BatchRow): Promise<Omit<Awaited<ReturnType<Workspace['prepareMessageBatchResume']>>, 'store'> | undefined> {
    const author = await teamBatchAuthor(db, batch.id);
    if (author && !author.mine) {
      throw new TeamResumeRefusal(`batch ${batch.id} was sent through Message Batches by ${author.name}: its Message Batches are theirs (their rows, their Anthropic account), so ${author.name} resumes it`);
    }
    if (!(await messageBatchResumeLeft(db, batch))) return undefined;
    try {
      const { store: _read, ...input } = await this.prepareMessageBatchResume(db, batch);
      return input;
    } catch (error) {
      throw new TeamResumeRefusal((error as Error).message);
    }
  }

  /**
   * What re-attaching to a batch sent through Message Batches needs: its whole plan (each slot's
   * custom id names it, so the slots are the plan's, not what is left), its template version as
   * any template of this workspace is parsed, its own settings priced by the current model table.
   * Read through either store: the workspace's (a `Store`, or the editor's handle on its worker), or the team's handle.
   */
  async prepareMessageBatchResume<D extends Database = WorkspaceDatabase>(store: D, batch: BatchRow): Promise<Omit<BatchInput, Exclude<ShellPart, 'resume'>> & { readonly store: D }> {
    const templates = new WorkspaceTemplateRepository(store);
    const version = (await templates.version(batch.versionId))!;
    const path = (await templates.byId(batch.templateId))!.path;
    const { settings, model, template, render } = this.storedBatch({ batch, templateText: version.content, templatePath: path });
    return {
      ...(batch.plan ? { cells: batch.plan.map((c) => ({ rendered: render(c.values), count: c.count })) } : {}),
      store,
      templatePath: path,
      templateText: version.content,
      template,
      rendered: render(batch.parameters),
      settings,
      model,
      count: batch.requested,
      resume: { batchId: batch.id, templateId: batch.templateId, versionId: batch.versionId },
    };
  }

  /**
   * A batch ready for `runRecordedBatch`, but for what only the shell has (the store, the key,
   * the address, callbacks); or what stands in its way.
   */
  prepareBatch(request: BatchRequest): PreparedBatch {
    const template = this.parse(request.text, request.file);
    if (template.hasErrors) return { ok: false, reason: 'template', diagnostics: template.diagnostics.filter((d) => d.severity === 'error') };
    const chosen = this.model(template, request.model);
    if ('problem' in chosen) return { ok: false, reason: 'model', message: chosen.problem };
    let cells: BatchCell[] | undefined;
    let count = request.count;
    if (request.plan) {
      const built =
        'valuesFile' in request.plan
          ? parseValuesFile(request.plan.valuesFile.text, request.plan.valuesFile.kind, template, request.count, request.values)
          : 'cells' in request.plan
            ? explicitPlan(template, request.plan.cells, request.values)
            : buildPlan(template, { vary: request.plan.vary, count: request.count, given: request.values, ...(request.plan.sampling ? { sampling: request.plan.sampling } : {}), ...(request.plan.seed !== undefined ? { seed: request.plan.seed } : {}) });
      if (!built.ok) return { ok: false, reason: 'plan', problems: built.problems };
      // A plan that builds renders: each cell was rendered while it was checked.
      const render = (values: Readonly<Record<string, unknown>>): Rendered => {
        const result = renderTemplate(template, values);
        if (!result.ok) throw new Error(`a plan cell does not render: ${result.problems.map((p) => p.message).join('; ')}`);
        return result.value;
      };
      cells = built.plan.cells.map((cell) => ({ rendered: render(cell.values), count: cell.count }));
      count = built.plan.conversations;
    }
    const rendered = cells ? { ok: true as const, value: cells[0]!.rendered } : renderTemplate(template, request.values);
    if (!rendered.ok) return { ok: false, reason: 'values', problems: rendered.problems };
    return {
      ok: true,
      input: {
        templatePath: this.templatePath(request.file),
        templateText: request.text,
        template,
        rendered: rendered.value,
        ...(cells ? { cells } : {}),
        settings: this.settings,
        model: chosen.model,
        count,
        ...(request.priority ? { priority: request.priority } : {}),
        ...(request.purpose ? { purpose: request.purpose } : {}),
      },
    };
  }
}

export interface BatchRequest {
  /** The template file (absolute, or relative to the workspace folder). */
  readonly file: string;
  readonly text: string;
  /** Values of the variables a plan does not vary (or of all, without a plan). */
  readonly values: RawParameters;
  /** Conversations in all; per combination for a `grid` plan; per row of a values file; not used with explicit cells (each has its count). */
  readonly count: number;
  /**
   * Vary values across the batch: chosen variables over their domains, a values file's rows, or
   * explicit value sets with their counts (a coverage fill plan), each render-checked.
   */
  readonly plan?:
    | { readonly vary: readonly string[] | 'all'; readonly sampling?: Sampling; readonly seed?: number }
    | { readonly valuesFile: { readonly text: string; readonly kind: ValuesFileKind } }
    | { readonly cells: readonly ExplicitCell[] };
  /** A model asked for explicitly (wins over the template's `model:`). */
  readonly model?: string;
  readonly priority?: Priority;
  readonly purpose?: 'test';
}

/** What a shell adds to a prepared batch before running it. */
export type ShellPart = 'store' | 'apiKey' | 'baseURL' | 'limiter' | 'started' | 'onAttempt' | 'resume';

export type PreparedBatch =
  | { readonly ok: true; readonly input: Omit<BatchInput, ShellPart> }
  | { readonly ok: false; readonly reason: 'template'; readonly diagnostics: readonly Diagnostic[] }
  | { readonly ok: false; readonly reason: 'model'; readonly message: string }
  | { readonly ok: false; readonly reason: 'values'; readonly problems: readonly RenderProblem[] }
  | { readonly ok: false; readonly reason: 'plan'; readonly problems: readonly PlanProblem[] };

/** Why a team batch cannot be resumed here, in one line for the person (`Workspace.teamResume`). */
export class TeamResumeRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TeamResumeRefusal';
  }
}

/**
 * Before a team run (generate or resume) in this folder: answers earlier runs here kept in the
 * spool while the team database was unreachable are written, so they count against the budgets
 * and are never generated again. Answers what to tell the person, in lines.
 */
export async function replayTeamSpool(folder: string, db: Database): Promise<string[]> {
  const { written, notices } = await replaySpool(folder, db);
  if (written > 0) notices.push(`wrote ${written} answer${written === 1 ? '' : 's'} an earlier run kept in ${SPOOL_DIR} while the team database was unreachable`);
  return notices;
}

/** Why a team resume generated nothing, in one line: the batch is cancelled, or other resumes hold the rest. */
export function nothingClaimed(batchId: string, result: { readonly cancelled: boolean; readonly heldByOthers: number }): string {
  return result.cancelled
    ? `batch ${batchId} is cancelled: nothing claimed (resume it again to go on)`
    : `nothing left to claim in batch ${batchId}: ${result.heldByOthers} conversation${result.heldByOthers === 1 ? ' is' : 's are'} being generated by another resume`;
}

export { openWorkspaceStore } from './generation/unstored';
