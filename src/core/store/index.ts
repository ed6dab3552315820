/** The workspace database (.promptloom/promptloom.db): durable, shared by the extension and the CLI. */
export { Store, type StoreOptions, type WriteTx, type RunResult } from './store';
export { StoreBusyError } from './lock';
export { StoreAccessError } from './safeFiles';
export { MIGRATIONS, SCHEMA_VERSION } from './schema';
export * from './repositories';
export { workspaceAnalytics, workspaceRepositories } from './workspaceRepositories';
export type { AnalyticsQueries, BatchRepository, GenerationRepository, JudgeCallRepository, Repositories, TemplateRepository } from './interfaces';
export type { SqlParam, Row } from './types';
