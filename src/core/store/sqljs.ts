import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Database, SqlJsStatic } from 'sql.js';
import type { Row, SqlParam } from './types';

let loading: Promise<SqlJsStatic> | undefined;

/**
 * Loads SQLite (sql.js, WebAssembly) once per process. The .wasm file sits beside the bundle
 * (esbuild copies it into dist/); run from sources, it is found in node_modules.
 */
export function loadSqlJs(): Promise<SqlJsStatic> {
  // Required here, not imported at the top: the editor loads SQLite only when it first needs it,
  // keeping it out of activation.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const initSqlJs = require('sql.js') as (config: { locateFile(file: string): string }) => Promise<SqlJsStatic>;
  loading ??= initSqlJs({
    locateFile: (file: string) => {
      const beside = join(__dirname, file);
      return existsSync(beside) ? beside : require.resolve(`sql.js/dist/${file}`);
    },
  });
  return loading;
}

/** Every row of one statement, as objects: the read the workspace Store and its read-only copy share. */
export function selectRows<T extends Row = Row>(db: Database, sql: string, params: readonly SqlParam[]): T[] {
  const statement = db.prepare(sql);
  try {
    statement.bind(params as SqlParam[]);
    const rows: T[] = [];
    while (statement.step()) rows.push(statement.getAsObject() as T);
    return rows;
  } finally {
    statement.free();
  }
}
