import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { dashboardWebviewMessage, type DashboardWebviewMessage } from '../../../src/shared/dashboardProtocol';
import { MAX_FORM_VALUE_CHARS, MAX_FORM_VALUES, webviewMessage as previewWebviewMessage, type WebviewMessage as PreviewWebviewMessage } from '../../../src/shared/previewProtocol';
import { qualityWebviewMessage, type QualityWebviewMessage } from '../../../src/shared/qualityProtocol';
import { relativePathProblem, validate, type Schema } from '../../../src/shared/schema';
import { testWebviewMessage, type TestWebviewMessage } from '../../../src/shared/testProtocol';

const ID = randomUUID();
const long = (n: number) => 'x'.repeat(n);

/** Each valid message, typed by its union so the table itself is checked against the protocol. */
function accepts<T>(schema: Schema<T>, messages: readonly T[]): void {
  for (const message of messages) {
    it(`accepts ${JSON.stringify(message).slice(0, 80)}`, () => {
      const checked = validate(schema, message);
      assert.deepEqual(checked, { ok: true, value: message });
    });
  }
}

/** Each malformed message, with a pattern the problem must match (it names what was wrong). */
function rejects(schema: Schema<unknown>, cases: readonly [string, unknown, RegExp][]): void {
  for (const [what, message, problem] of cases) {
    it(`rejects ${what}`, () => {
      const checked = validate(schema, message);
      assert.equal(checked.ok, false, `accepted ${JSON.stringify(message).slice(0, 200)}`);
      if (!checked.ok) {
        assert.match(checked.problem, problem);
        assert.ok(checked.problem.length < 300, `the problem quotes too much: ${checked.problem.length} characters`);
      }
    });
  }
}

/** Cases every union shares: not an object, no or unknown type. */
function rejectsNonMessages(schema: Schema<unknown>): void {
  rejects(schema, [
    ['null', null, /^message: expected an object, got null$/],
    ['a string', 'ready', /^message: expected an object, got "ready"$/],
    ['an array', [{ type: 'ready' }], /^message: expected an object, got an array of 1$/],
    ['a message without a type', {}, /^message\.type: expected one of .*got undefined$/],
    ['an unknown type', { type: 'deleteEverything' }, /^message\.type: expected one of .*got "deleteEverything"$/],
    ['a type that is not a string', { type: 1 }, /^message\.type: .*got 1$/],
    ['a type inherited from Object.prototype', { type: 'toString' }, /^message\.type: .*got "toString"$/],
    ['an extra key on ready', { type: 'ready', extra: 1 }, /^message \(ready\): unexpected key "extra"$/],
  ]);
}

describe('webview messages', () => {
  describe('preview', () => {
    accepts<PreviewWebviewMessage>(previewWebviewMessage, [
      { type: 'ready' },
      { type: 'values', values: {} },
      { type: 'values', values: { persona: 'Near Retiree', turns: '8', formal: true, _x9: '' } },
      { type: 'values', values: { text: long(MAX_FORM_VALUE_CHARS) } },
      { type: 'fillSamples' },
    ]);
    rejectsNonMessages(previewWebviewMessage);
    rejects(previewWebviewMessage, [
      ['values missing', { type: 'values' }, /^message \(values\): missing values$/],
      ['values not an object', { type: 'values', values: 'persona=x' }, /expected an object, got "persona=x"/],
      ['values as an array', { type: 'values', values: ['x'] }, /expected an object, got an array of 1/],
      ['a number value', { type: 'values', values: { turns: 8 } }, /message \(values\)\.values\.turns: expected a string, got 8.*or.*expected true or false/],
      ['a nested object value', { type: 'values', values: { persona: { name: 'x' } } }, /values\.persona: expected a string, got an object/],
      ['an extra-long value', { type: 'values', values: { persona: long(MAX_FORM_VALUE_CHARS + 1) } }, /values\.persona: longer than 100000 characters \(100001\)/],
      ['too many values', { type: 'values', values: Object.fromEntries(Array.from({ length: MAX_FORM_VALUES + 1 }, (_, i) => [`v${i}`, ''])) }, /more than 200 entries/],
      ['a key that is no variable name', { type: 'values', values: { '../persona': 'x' } }, /values key: expected a variable name, got "\.\.\/persona"/],
      ['an extra-long key', { type: 'values', values: { [long(129)]: 'x' } }, /values key: longer than 128 characters/],
      ['a __proto__ key', { type: 'values', values: JSON.parse('{"__proto__": "x"}') }, /values key: a reserved name/],
      ['an extra key', { type: 'values', values: {}, uri: 'file:///etc/passwd' }, /unexpected key "uri"/],
      ['values smuggled into fillSamples', { type: 'fillSamples', values: { persona: 'x' } }, /^message \(fillSamples\): unexpected key "values"$/],
    ]);
  });

  describe('quality', () => {
    accepts<QualityWebviewMessage>(qualityWebviewMessage, [
      { type: 'ready' },
      { type: 'reveal', id: ID, turn: 0 },
      { type: 'reveal', id: ID, turn: 41 },
      { type: 'review', id: ID, status: 'approved' },
      { type: 'review', id: ID, status: 'needs_revision' },
      { type: 'review', id: ID, status: 'rejected' },
    ]);
    rejectsNonMessages(qualityWebviewMessage);
    rejects(qualityWebviewMessage, [
      ['reveal without an id', { type: 'reveal', turn: 1 }, /^message \(reveal\): missing id$/],
      ['reveal without a turn', { type: 'reveal', id: ID }, /^message \(reveal\): missing turn$/],
      ['reveal with a short id', { type: 'reveal', id: 'abc', turn: 1 }, /\.id: expected a conversation id, got "abc"/],
      ['reveal with an upper-case id', { type: 'reveal', id: ID.toUpperCase(), turn: 1 }, /\.id: expected a conversation id/],
      ['reveal with an id and a path', { type: 'reveal', id: `${ID}/../x`, turn: 1 }, /\.id: longer than 36 characters/],
      ['reveal with an extra-long id', { type: 'reveal', id: long(100_000), turn: 1 }, /\.id: longer than 36 characters \(100000\)/],
      ['reveal with a numeric id', { type: 'reveal', id: 7, turn: 1 }, /\.id: expected a conversation id, got 7/],
      ['reveal with a turn as text', { type: 'reveal', id: ID, turn: '1' }, /\.turn: expected a finite number, got "1"/],
      ['reveal with a negative turn', { type: 'reveal', id: ID, turn: -1 }, /\.turn: -1 is outside 0\.\.10000/],
      ['reveal with a fractional turn', { type: 'reveal', id: ID, turn: 1.5 }, /\.turn: expected a whole number, got 1\.5/],
      ['reveal with NaN', { type: 'reveal', id: ID, turn: NaN }, /\.turn: expected a finite number, got NaN/],
      ['reveal with Infinity', { type: 'reveal', id: ID, turn: Infinity }, /\.turn: expected a finite number, got Infinity/],
      ['reveal with a huge turn', { type: 'reveal', id: ID, turn: 1e9 }, /\.turn: 1000000000 is outside/],
      ['review without a status', { type: 'review', id: ID }, /^message \(review\): missing status$/],
      ['review with an unknown status', { type: 'review', id: ID, status: 'pending' }, /\.status: expected one of "approved", "needs_revision", "rejected", got "pending"/],
      ['review with a bad id', { type: 'review', id: 'DROP TABLE', status: 'approved' }, /\.id: expected a conversation id/],
      ['review with several ids', { type: 'review', id: [ID], status: 'approved' }, /\.id: expected a conversation id, got an array of 1/],
      ['review with an extra key', { type: 'review', id: ID, status: 'approved', note: 'x' }, /unexpected key "note"/],
    ]);
  });

  describe('dashboard', () => {
    accepts<DashboardWebviewMessage>(dashboardWebviewMessage, [
      { type: 'ready' },
      { type: 'versions', template: 3 },
      { type: 'compare', request: { kind: 'templates', a: 1, b: 2 } },
      { type: 'compare', request: { kind: 'versions', template: 1, a: 4, b: 5 } },
      { type: 'exportCsv' },
      { type: 'open', file: 'support.prompt' },
      { type: 'open', file: 'prompts/tier 1/support..v2.prompt' },
      { type: 'conversations', file: 'prompts/support.prompt' },
      { type: 'fillGaps', template: 7 },
      { type: 'useSuggestedThreshold', file: 'prompts/support.prompt' },
    ]);
    rejectsNonMessages(dashboardWebviewMessage);
    rejects(dashboardWebviewMessage, [
      ['fillGaps without a template', { type: 'fillGaps' }, /missing template/],
      ['useSuggestedThreshold without a file', { type: 'useSuggestedThreshold' }, /missing file/],
      ['useSuggestedThreshold outside the workspace', { type: 'useSuggestedThreshold', file: '../a.prompt' }, /not a path inside the workspace/],
      ['useSuggestedThreshold with its own threshold', { type: 'useSuggestedThreshold', file: 'a.prompt', threshold: 0.1 }, /unexpected key "threshold"/],
      ['fillGaps with a file instead of an id', { type: 'fillGaps', template: 'a.prompt' }, /\.template: expected a finite number, got "a\.prompt"/],
      ['fillGaps with its own plan', { type: 'fillGaps', template: 1, cells: [{ values: {}, count: 1000 }] }, /unexpected key "cells"/],
      ['versions without a template', { type: 'versions' }, /missing template/],
      ['versions with NaN (an empty select)', { type: 'versions', template: NaN }, /\.template: expected a finite number, got NaN/],
      ['versions with id 0', { type: 'versions', template: 0 }, /\.template: 0 is outside 1\.\./],
      ['versions with a fractional id', { type: 'versions', template: 1.5 }, /whole number/],
      ['versions with an id as text', { type: 'versions', template: '1' }, /expected a finite number, got "1"/],
      ['compare without a request', { type: 'compare' }, /missing request/],
      ['compare of an unknown kind', { type: 'compare', request: { kind: 'batches', a: 1, b: 2 } }, /\.request\.kind: expected one of "templates", "versions", got "batches"/],
      ['compare of versions without a template', { type: 'compare', request: { kind: 'versions', a: 1, b: 2 } }, /\.request \(versions\): missing template/],
      ['compare of templates with a version key', { type: 'compare', request: { kind: 'templates', template: 1, a: 1, b: 2 } }, /unexpected key "template"/],
      ['compare with a negative id', { type: 'compare', request: { kind: 'templates', a: -1, b: 2 } }, /\.a: -1 is outside/],
      ['exportCsv with a target', { type: 'exportCsv', target: '/tmp/x.csv' }, /unexpected key "target"/],
      ['open without a file', { type: 'open' }, /missing file/],
      ['open of a file outside the workspace', { type: 'open', file: '../secrets.prompt' }, /\.file: not a path inside the workspace \(a path with an empty, \. or \.\. segment\), got "\.\.\/secrets\.prompt"/],
      ['open of a path that climbs out midway', { type: 'open', file: 'prompts/../../x' }, /not a path inside the workspace/],
      ['open of an absolute path', { type: 'open', file: '/etc/passwd' }, /not a path inside the workspace \(an absolute path\)/],
      ['open of a Windows absolute path', { type: 'open', file: 'C:/Windows/win.ini' }, /\(a path with a drive or scheme\)/],
      ['open of a backslash path', { type: 'open', file: '..\\secrets.prompt' }, /\(a path with a backslash or control character\)/],
      ['open of a URI', { type: 'open', file: 'file:///etc/passwd' }, /\(a path with a drive or scheme\)/],
      ['open of another scheme', { type: 'open', file: 'vscode-remote://host/x.prompt' }, /\(a path with a drive or scheme\)/],
      ['open of a ./ path', { type: 'open', file: './x.prompt' }, /\. or \.\. segment/],
      ['open of an empty path', { type: 'open', file: '' }, /shorter than 1 characters/],
      ['open of an extra-long path', { type: 'open', file: `${long(2000)}.prompt` }, /\.file: longer than 1024 characters \(2007\)/],
      ['open of a number', { type: 'open', file: 3 }, /expected a workspace-relative path, got 3/],
      ['conversations of a file outside the workspace', { type: 'conversations', file: '../../x.prompt' }, /not a path inside the workspace/],
      ['conversations of an absolute path', { type: 'conversations', file: '/x.prompt' }, /an absolute path/],
    ]);
  });

  describe('template test', () => {
    accepts<TestWebviewMessage>(testWebviewMessage, [{ type: 'ready' }, { type: 'open', conversationId: ID }, { type: 'reveal', conversationId: ID, turn: 0 }, { type: 'reveal', conversationId: ID, turn: 3 }, { type: 'rerun' }]);
    rejectsNonMessages(testWebviewMessage);
    rejects(testWebviewMessage, [
      ['open without an id', { type: 'open' }, /missing conversationId/],
      ['open with a bad id', { type: 'open', conversationId: 'not-an-id' }, /\.conversationId: expected a conversation id, got "not-an-id"/],
      ['open with an extra-long id', { type: 'open', conversationId: long(5000) }, /longer than 36 characters \(5000\)/],
      ['open with the id of a file', { type: 'open', conversationId: '/etc/passwd' }, /expected a conversation id/],
      ['reveal without a turn', { type: 'reveal', conversationId: ID }, /missing turn/],
      ['reveal of a negative turn', { type: 'reveal', conversationId: ID, turn: -1 }, /\.turn: .*-1/],
      ['reveal of a fractional turn', { type: 'reveal', conversationId: ID, turn: 1.5 }, /\.turn: .*1\.5/],
      ['reveal of a turn given as text', { type: 'reveal', conversationId: ID, turn: '3' }, /\.turn: .*"3"/],
      ['reveal with a bad id', { type: 'reveal', conversationId: '../x', turn: 0 }, /\.conversationId: expected a conversation id/],
      ['rerun with a count', { type: 'rerun', runs: 1000 }, /unexpected key "runs"/],
      ['rerun with a template', { type: 'rerun', uri: 'file:///elsewhere.prompt' }, /unexpected key "uri"/],
    ]);
  });

  it('a problem never quotes a long value whole', () => {
    const checked = validate(qualityWebviewMessage, { type: 'review', id: ID, status: long(1_000_000) });
    assert.equal(checked.ok, false);
    if (!checked.ok) assert.match(checked.problem, /got a string of 1000000 characters$/);
  });

  it('relative paths: the store’s form only', () => {
    for (const ok of ['a.prompt', 'a/b/c.prompt', 'a b/c-d_e.prompt', '.hidden/x.prompt', 'x..y']) assert.equal(relativePathProblem(ok), undefined, ok);
    for (const bad of ['', '/a', '//host/a', 'a//b', 'a/', '..', 'a/..', 'a/./b', 'c:x', 'a\\b', 'a\u0000b', 'untitled:x']) assert.notEqual(relativePathProblem(bad), undefined, bad);
  });
});
