import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { qualityWebviewMessage, type QualityWebviewMessage } from '../../../src/shared/qualityProtocol';
import { PAGE_LOAD_FAILED, messageReceiver, receiveMessages, type MessageLog, type ReceiverOptions } from '../../../src/extension/webviewMessages';

/** Records what the receiver logs and shows: the two outputs it promises. */
class Recorder implements MessageLog {
  readonly errors: { message: string; error?: unknown }[] = [];
  readonly shown: string[] = [];
  logShown = 0;
  error(message: string, error?: unknown): void {
    this.errors.push({ message, ...(error !== undefined ? { error } : {}) });
  }
  show(): void {
    this.logShown++;
  }
  readonly window = {
    showErrorMessage: (message: string) => {
      this.shown.push(message);
      return Promise.resolve('Show Log');
    },
  } as unknown as ReceiverOptions<QualityWebviewMessage>['window'];
}

function receiver(handle: ReceiverOptions<QualityWebviewMessage>['handle']) {
  const recorder = new Recorder();
  const handled: QualityWebviewMessage[] = [];
  const deliver = messageReceiver<QualityWebviewMessage>({
    panel: 'Quality panel',
    schema: qualityWebviewMessage,
    log: recorder,
    window: recorder.window,
    handle: (m) => {
      handled.push(m);
      return handle(m);
    },
  });
  return { deliver, recorder, handled };
}

describe('webview message receiver', () => {
  it('hands a valid message to the handler, and logs nothing', async () => {
    const { deliver, recorder, handled } = receiver(() => undefined);
    const message = { type: 'review', id: randomUUID(), status: 'approved' } as const;
    assert.deepEqual(await deliver(message), { kind: 'handled' });
    assert.deepEqual(handled, [message]);
    assert.deepEqual(recorder.errors, []);
    assert.deepEqual(recorder.shown, []);
  });

  it('drops an invalid message: one log line naming the panel and the problem, no handler, nothing shown', async () => {
    const { deliver, recorder, handled } = receiver(() => undefined);
    const outcome = await deliver({ type: 'review', id: '../../etc/passwd', status: 'approved', padding: 'x'.repeat(1_000_000) });
    assert.equal(outcome.kind, 'dropped');
    assert.deepEqual(handled, []);
    assert.equal(recorder.errors.length, 1);
    const line = recorder.errors[0]!.message;
    assert.match(line, /^Quality panel: dropped a message from the webview: message \(review\): unexpected key "padding"$/);
    assert.deepEqual(recorder.shown, []);
  });

  it('a page whose asset failed to load is set again, a limited number of times, each logged; the handler never sees it', async () => {
    const recorder = new Recorder();
    const handled: QualityWebviewMessage[] = [];
    let reloads = 0;
    const deliver = messageReceiver<QualityWebviewMessage>({
      panel: 'Quality panel',
      schema: qualityWebviewMessage,
      log: recorder,
      window: recorder.window,
      handle: (m) => void handled.push(m),
      reload: () => ++reloads <= 2,
    });
    const failed = { type: PAGE_LOAD_FAILED, url: 'https://file+.vscode-resource.vscode-cdn.net/ext/media/dist/quality.js' };
    for (let i = 0; i < 3; i++) assert.deepEqual(await deliver(failed), { kind: 'handled' });
    assert.equal(reloads, 3);
    assert.deepEqual(handled, []);
    assert.deepEqual(recorder.errors.map((e) => e.message), [
      `Quality panel: the page could not load ${failed.url}; loading the page again`,
      `Quality panel: the page could not load ${failed.url}; loading the page again`,
      `Quality panel: the page could not load ${failed.url}; not loading it again`,
    ]);
    assert.deepEqual(recorder.shown, []);
  });

  it('without a way to reload, a load failure is an unknown message, dropped like any other', async () => {
    const { deliver, recorder, handled } = receiver(() => undefined);
    assert.equal((await deliver({ type: PAGE_LOAD_FAILED, url: 'x' })).kind, 'dropped');
    assert.deepEqual(handled, []);
    assert.equal(recorder.errors.length, 1);
  });

  it('never logs a large payload whole', async () => {
    const { deliver, recorder } = receiver(() => undefined);
    await deliver({ type: 'reveal', id: 'y'.repeat(1_000_000), turn: 1 });
    assert.equal(recorder.errors.length, 1);
    assert.ok(recorder.errors[0]!.message.length < 400, `${recorder.errors[0]!.message.length} characters`);
  });

  it('a handler that rejects is logged with its error and shown, and the delivery still resolves', async () => {
    const failure = new Error('the database is locked');
    const { deliver, recorder } = receiver(async () => {
      await Promise.resolve();
      throw failure;
    });
    const outcome = await deliver({ type: 'review', id: randomUUID(), status: 'rejected' });
    assert.deepEqual(outcome, { kind: 'failed', error: 'the database is locked' });
    assert.deepEqual(recorder.errors, [{ message: 'Quality panel: the webview\'s "review" message failed', error: failure }]);
    assert.deepEqual(recorder.shown, ['Promptloom: Quality panel could not handle "review": the database is locked']);
  });

  it('a handler that throws synchronously is caught the same way', async () => {
    const { deliver, recorder } = receiver(() => {
      throw new TypeError('boom');
    });
    assert.deepEqual(await deliver({ type: 'ready' }), { kind: 'failed', error: 'boom' });
    assert.equal(recorder.errors.length, 1);
    assert.equal(recorder.shown.length, 1);
  });

  it('"Show Log" on the notification opens the log', async () => {
    const { deliver, recorder } = receiver(() => Promise.reject(new Error('x')));
    await deliver({ type: 'ready' });
    // The choice resolves after the delivery: wait for it as state, not time.
    for (let i = 0; i < 100 && recorder.logShown === 0; i++) await Promise.resolve();
    assert.equal(recorder.logShown, 1);
  });

  it('a failing log does not make the delivery reject', async () => {
    const recorder = new Recorder();
    const deliver = messageReceiver<QualityWebviewMessage>({
      panel: 'Quality panel',
      schema: qualityWebviewMessage,
      log: {
        error: () => {
          throw new Error('channel disposed');
        },
        show: () => undefined,
      },
      window: recorder.window,
      handle: () => Promise.reject(new Error('x')),
    });
    assert.equal((await deliver({ type: 'ready' })).kind, 'failed');
    assert.equal((await deliver({ type: 'nope' })).kind, 'dropped');
  });

  it('listens on the webview: a message posted there is received, and a failing one is no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let listener: ((raw: unknown) => unknown) | undefined;
      const webview = {
        onDidReceiveMessage: (l: (raw: unknown) => unknown, _this: unknown, disposables: { dispose(): void }[]) => {
          listener = l;
          const d = { dispose: () => (listener = undefined) };
          disposables.push(d);
          return d;
        },
      } as unknown as Parameters<typeof receiveMessages>[0];
      const recorder = new Recorder();
      const disposables: { dispose(): void }[] = [];
      let rejected: (() => void) | undefined;
      const settled = new Promise<void>((resolve) => (rejected = resolve));
      receiveMessages<QualityWebviewMessage>(
        webview,
        {
          panel: 'Quality panel',
          schema: qualityWebviewMessage,
          log: recorder,
          window: recorder.window,
          handle: () => {
            rejected!();
            return Promise.reject(new Error('handler failed'));
          },
        },
        disposables as never,
      );
      assert.equal(disposables.length, 1);
      // What VS Code does with the listener's return value: nothing.
      listener!({ type: 'ready' });
      await settled;
      // Let the rejection propagate as far as it would.
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(unhandled, []);
      assert.equal(recorder.errors.length, 1);
      assert.equal(recorder.shown.length, 1);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
