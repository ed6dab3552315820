import { appendFileSync, type openSync, type PathLike } from 'node:fs';
import * as vscode from 'vscode';

export function workspaceFile(name: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the test workspace is not open');
  return vscode.Uri.joinPath(folder.uri, name);
}

export async function open(name: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(workspaceFile(name));
  return vscode.window.showTextDocument(doc);
}

/** Polls until `probe` returns a value that is not undefined: state, never a fixed sleep. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function promptloomDiagnostics(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'promptloom');
}

/** A line in the test report (figures worth reading, such as the activation time). */
export function note(text: string): void {
  const report = process.env.PROMPTLOOM_TEST_REPORT;
  if (report) appendFileSync(report, `    ℹ ${text}\n`);
}

/**
 * Scripts the fake Messages API's next answers (test/fixtures/fakeMessagesApi.ts, its `Fault`s) from
 * this extension host: the fake runs in the test runner's process, at ANTHROPIC_BASE_URL.
 */
export async function scriptFakeApi(...faults: readonly { readonly kind: string; readonly [k: string]: unknown }[]): Promise<void> {
  const base = process.env.ANTHROPIC_BASE_URL;
  if (!base) throw new Error('ANTHROPIC_BASE_URL is not set: run through npm run test:integration');
  const res = await fetch(`${base}/_fake/script`, { method: 'POST', body: JSON.stringify({ faults }) });
  if (!res.ok) throw new Error(`the fake Messages API did not take the script: ${res.status}`);
}

/**
 * Runs `body` and answers the workspace database's files (`.promptloom/promptloom.db`, its journal,
 * its lock, a snapshot being written) opened on this thread meanwhile: the extension host's, where
 * the suites run too. `fs` is one module object per thread and the extension's bundle calls
 * `openSync` through it, so a `Store` opened or written here is seen; the Store in the editor's
 * worker thread has an `fs` of its own, and is not.
 */
export async function databaseFilesOpenedHere<T>(body: () => Promise<T>): Promise<{ value: T; opened: string[] }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object itself, not a copy of its bindings
  const fs = require('node:fs') as { openSync: typeof openSync };
  const original = fs.openSync;
  const opened: string[] = [];
  fs.openSync = ((path: PathLike, ...rest: unknown[]) => {
    if (/[\\/]\.promptloom[\\/]promptloom\./.test(String(path))) opened.push(String(path));
    return (original as (...args: unknown[]) => number)(path, ...rest);
  }) as typeof fs.openSync;
  try {
    return { value: await body(), opened };
  } finally {
    fs.openSync = original;
  }
}
