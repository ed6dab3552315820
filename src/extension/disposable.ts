import type * as vscode from 'vscode';

/** Owns disposables registered with `register` and disposes them together, newest first. */
export abstract class Disposable implements vscode.Disposable {
  private readonly owned: vscode.Disposable[] = [];
  private disposed = false;

  protected register<T extends vscode.Disposable>(disposable: T): T {
    if (this.disposed) disposable.dispose();
    else this.owned.push(disposable);
    return disposable;
  }

  /** For `onDidX(listener, thisArg, this.subscriptions)`. */
  protected get subscriptions(): vscode.Disposable[] {
    return this.owned;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    while (this.owned.length > 0) this.owned.pop()!.dispose();
  }
}
