import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkApiAddress, isLoopback, resolveApiAddress } from '../../../src/core/generation/apiAddress';
import { DEFAULT_SETTINGS, SETTINGS, parseFlag, readSettings, settingByFlag, storedSettings, yesNo } from '../../../src/core/generation/settings';
import { Workspace } from '../../../src/core/workspace';
import { LIMITS } from '../../../src/shared/retryProtocol';

interface SchemaProperty {
  type?: string | string[];
  enum?: string[];
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
}

describe('the settings table', () => {
  it('package.json’s configuration schema gives every setting the table’s type, range and choices', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, SchemaProperty> }[] } };
    const properties = Object.assign({}, ...pkg.contributes.configuration.map((c) => c.properties)) as Record<string, SchemaProperty>;
    for (const spec of SETTINGS) {
      const p = properties[`promptloom.${spec.key}`];
      assert.ok(p, `promptloom.${spec.key} is contributed`);
      const range = spec.kind.range;
      if (range) {
        // A setting without a default may be null (empty), so the Settings UI shows no error out of the box.
        const types = ([] as string[]).concat(p.type ?? []);
        assert.ok(types.includes(range.integer ? 'integer' : 'number'), spec.key);
        assert.ok('default' in p, `${spec.key} has a default`);
        if ((p as { default?: unknown }).default === null) assert.ok(types.includes('null'), `${spec.key}: a null default needs a nullable type`);
        assert.equal(p.maximum, range.max, `${spec.key} maximum`);
        if (range.exclusiveMin) assert.equal(p.exclusiveMinimum, range.min, `${spec.key} exclusiveMinimum`);
        else assert.equal(p.minimum, range.min, `${spec.key} minimum`);
      }
      if (spec.kind.choices) assert.deepEqual(p.enum, spec.kind.choices, spec.key);
      if (spec.kind === yesNo) {
        assert.equal(p.type, 'boolean', spec.key);
        assert.equal((p as { default?: unknown }).default, DEFAULT_SETTINGS[spec.name], `${spec.key} default`);
      }
    }
  });

  it('reads valid values and names each invalid one with what it must be', () => {
    const { settings, problems } = readSettings({ 'promptloom.timeoutMs': 3_000_000_000, promptloom: { retry: { maxAttempts: 5 } }, 'promptloom.concurrency': 0, 'promptloom.onError': 'explode' });
    assert.deepEqual(settings, { maxAttempts: 5 });
    assert.deepEqual(
      problems.map((p) => p.message),
      [
        'promptloom.concurrency: 0 is not valid: expected a whole number from 1 to 64',
        'promptloom.timeoutMs: 3000000000 is not valid: expected a whole number from 1 to 3,600,000',
        'promptloom.onError: "explode" is not valid: expected one of continue, stop',
      ],
    );
  });

  it('checks a flag’s text by the same rule, naming the flag', () => {
    assert.deepEqual(parseFlag(settingByFlag('--timeout-ms')!, '2500'), { ok: true, value: 2500 });
    const bad = parseFlag(settingByFlag('--window-seconds')!, '3000000');
    assert.equal(bad.ok, false);
    assert.match(!bad.ok ? bad.expected : '', /^--window-seconds "3000000" is not valid: expected a number above 0 and at most 86,400$/);
    assert.equal(parseFlag(settingByFlag('--concurrency')!, '').ok, false);
    assert.equal(parseFlag(settingByFlag('--budget-usd')!, 'Infinity').ok, false);
  });

  it('a model table with an out-of-range limit is refused whole, never half-used', () => {
    const { settings, problems } = readSettings({ 'promptloom.models': [{ id: 'claude-x', inputPrice: 1, outputPrice: 2, windowMs: 1 }] });
    assert.equal(settings.models, undefined);
    assert.equal(problems.length, 1);
  });

  it('a batch’s stored settings never bring an API address back', () => {
    const stored = storedSettings({ concurrency: 2, apiBaseUrl: 'https://evil.example', timeoutMs: 9e12 });
    assert.deepEqual(stored, { concurrency: 2 });
  });
});

describe('the API address', () => {
  it('https anywhere; plain http only to this machine; nothing else', () => {
    assert.equal(checkApiAddress('https://gateway.example.com/anthropic', 'x'), 'https://gateway.example.com/anthropic');
    for (const local of ['http://localhost:8080', 'http://127.0.0.1:9', 'http://127.8.9.10', 'http://[::1]:3000']) assert.equal(checkApiAddress(local, 'x'), local);
    for (const [bad, message] of [
      ['http://example.com', /plain http to example\.com/],
      ['http://192.168.1.10:8080', /plain http/],
      ['http://[::2]/', /plain http/],
      ['http://127.0.0.1.evil.com', /plain http/],
      ['http://api.localhost', /plain http/],
      ['sk-ant-api03-secret', /is not a URL/],
      ['ftp://127.0.0.1', /must start with https/],
      ['file:///etc/passwd', /must start with https/],
      ['javascript:alert(1)', /must start with https/],
      ['api.anthropic.com', /is not a URL/],
    ] as const) {
      assert.throws(() => checkApiAddress(bad, 'ANTHROPIC_BASE_URL'), message, bad);
    }
    assert.equal(isLoopback('LOCALHOST'), true);
    assert.equal(isLoopback('localhost.evil.com'), false);
    // An address that is not a URL is not echoed (it may be a key pasted into the wrong place).
    assert.throws(() => checkApiAddress('sk-ant-api03-secret', 'ANTHROPIC_BASE_URL'), (e: Error) => !e.message.includes('sk-ant'));
  });

  it('the first source given wins; none given means Anthropic’s', () => {
    assert.equal(resolveApiAddress([undefined, { value: 'https://a.example', from: 'env' }]), 'https://a.example');
    assert.equal(resolveApiAddress([{ value: 'https://flag.example', from: 'flag' }, { value: 'http://evil.example', from: 'env' }]), 'https://flag.example');
    assert.equal(resolveApiAddress([undefined, { value: ' ', from: 'env' }]), undefined);
  });
});

describe('the workspace both shells prepare batches with', () => {
  const text = '---\nname: T\nmodel: fast\n---\nWrite about <<topic>>.\n';
  it('knows the model table’s aliases, and a flag’s model wins over the template’s, which wins over the setting', () => {
    const models = [{ id: 'claude-haiku-5-5', alias: 'fast', inputPrice: 1, outputPrice: 5, windowMs: 60_000, requestsPerWindow: 50 }];
    const plain = new Workspace('/w');
    assert.equal(plain.parse(text, 't.prompt').hasErrors, true, 'fast is unknown to the default table');
    const ws = new Workspace('/w', [{ models, model: 'claude-opus-5-5' }]);
    const prepared = ws.prepareBatch({ file: '/w/sub/t.prompt', text, values: new Map([['topic', 'bonds']]), count: 2 });
    assert.ok(prepared.ok);
    assert.equal(prepared.input.model.id, 'claude-haiku-5-5');
    assert.equal(prepared.input.templatePath, 'sub/t.prompt');
    const asked = ws.prepareBatch({ file: '/w/t.prompt', text, values: new Map([['topic', 'bonds']]), count: 1, model: 'claude-opus-5-5' });
    assert.ok(asked.ok && asked.input.model.id === 'claude-opus-5-5');
    const missing = ws.prepareBatch({ file: '/w/t.prompt', text, values: new Map(), count: 1 });
    assert.equal(!missing.ok && missing.reason, 'values');
    const unknown = ws.prepareBatch({ file: '/w/t.prompt', text, values: new Map([['topic', 'x']]), count: 1, model: 'gpt-4o' });
    assert.match(!unknown.ok && unknown.reason === 'model' ? unknown.message : '', /unknown model "gpt-4o"/);
  });
});

describe('the retry simulation panel’s bounds', () => {
  it('are the settings table’s', () => {
    const spec = (key: string) => SETTINGS.find((s) => s.key === key)!.kind;
    assert.deepEqual(LIMITS.strategies, spec('retry.strategy').choices);
    for (const [field, key] of [['maxAttempts', 'retry.maxAttempts'], ['baseDelayMs', 'retry.baseDelayMs'], ['maxDelayMs', 'retry.maxDelayMs']] as const) {
      const r = spec(key).range!;
      assert.deepEqual(LIMITS[field], { min: r.min, max: r.max }, key);
    }
  });
});
