import { strict as assert } from 'node:assert';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promptloom, workspace } from '../helpers/cli';

const EXAMPLES = resolve(__dirname, '../../examples');
const version = (JSON.parse(readFileSync(resolve(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;

const GOOD = ['---', 'variables:', '  who: { type: dropdown, options: [Ann, Bob] }', '  n: { type: number, min: 1, max: 9, default: 3 }', '---', 'Hi <<who>> x<<n>>', ''].join('\n');
const WARN = ['---', 'temprature: 0.5', '---', 'Hi {{who}}', ''].join('\n');
const BAD = ['---', 'tier: epic', '---', 'Hi <<who', ''].join('\n');

/** No stack trace, ever, for a user error. */
function assertNoStack(text: string): void {
  assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+/);
  assert.doesNotMatch(text, /Error:/);
}

describe('promptloom CLI', () => {
  it('--version prints the package version', () => {
    const run = promptloom(['--version']);
    assert.equal(run.code, 0);
    assert.equal(run.stdout.trim(), version);
  });

  it('--help lists the commands', () => {
    const run = promptloom(['--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /check/);
    assert.match(run.stdout, /render/);
  });

  describe('check', () => {
    it('passes the shipped examples with exit 0', () => {
      const run = promptloom(['check', EXAMPLES]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, /checked 4 files: 0 errors, 0 warnings/);
    });

    it('prints compiler-style lines and exits 1 on errors', () => {
      const ws = workspace({ 'bad.prompt': BAD, 'warn.prompt': WARN, 'good.prompt': GOOD });
      const run = promptloom(['check', '.'], { cwd: ws });
      assert.equal(run.code, 1);
      assert.deepEqual(run.stdout.trim().split('\n'), [
        'bad.prompt:2:7 error PL006 Unknown tier `epic`: use one of `template`, `scenario`, `edge_case`.',
        'bad.prompt:4:4 error PL001 This `<<` has no closing `>>` on its line. Close the tag, or write `\\<<` for a literal `<<`.',
        'warn.prompt:2:1 warning PL007 Unknown front-matter key `temprature`: did you mean `temperature`?',
        'warn.prompt:4:4 warning PL009 `{{who}}` is not expanded in .prompt files and reaches the model as written: use `<<who>>`.',
      ]);
      assert.match(run.stderr, /checked 3 files: 2 errors, 2 warnings/);
    });

    it('exits 0 when there are only warnings', () => {
      const ws = workspace({ 'warn.prompt': WARN });
      assert.equal(promptloom(['check', 'warn.prompt'], { cwd: ws }).code, 0);
    });

    it('JSON output follows the contract exactly', () => {
      const ws = workspace({ 'a/bad.prompt': BAD, 'a/good.prompt': GOOD, 'a/notes.txt': 'ignored' });
      const run = promptloom(['check', 'a', '--format', 'json'], { cwd: ws });
      assert.equal(run.code, 1);
      const parsed = JSON.parse(run.stdout) as unknown;
      assert.deepEqual(parsed, [
        {
          file: join('a', 'bad.prompt'),
          diagnostics: [
            {
              code: 'PL006',
              severity: 'error',
              message: 'Unknown tier `epic`: use one of `template`, `scenario`, `edge_case`.',
              range: { start: { line: 1, character: 6 }, end: { line: 1, character: 10 } },
            },
            {
              code: 'PL001',
              severity: 'error',
              message: 'This `<<` has no closing `>>` on its line. Close the tag, or write `\\<<` for a literal `<<`.',
              range: { start: { line: 3, character: 3 }, end: { line: 3, character: 8 } },
            },
          ],
        },
        { file: join('a', 'good.prompt'), diagnostics: [] },
      ]);
    });

    it('searches folders recursively, skipping node_modules and dot-folders', () => {
      const ws = workspace({
        'x/y/deep.prompt': GOOD,
        'node_modules/pkg/skip.prompt': BAD,
        '.hidden/skip.prompt': BAD,
        'top.prompt': GOOD,
      });
      const run = promptloom(['check', '.', '--format', 'json'], { cwd: ws });
      assert.equal(run.code, 0);
      assert.deepEqual((JSON.parse(run.stdout) as { file: string }[]).map((r) => r.file), ['top.prompt', join('x', 'y', 'deep.prompt')]);
    });

    it('finds .PROMPT in any case and checks a file named twice once', () => {
      const ws = workspace({ 'dir/UPPER.PROMPT': GOOD, 'a.prompt': GOOD });
      const run = promptloom(['check', 'dir', 'a.prompt', './a.prompt', '--format', 'json'], { cwd: ws });
      assert.deepEqual((JSON.parse(run.stdout) as { file: string }[]).map((r) => r.file), [join('dir', 'UPPER.PROMPT'), 'a.prompt']);
    });

    it('exits 2 for a missing path, still checking the others', () => {
      const ws = workspace({ 'bad.prompt': BAD });
      const run = promptloom(['check', 'bad.prompt', 'missing.prompt', '--format', 'json'], { cwd: ws });
      assert.equal(run.code, 2);
      assert.equal((JSON.parse(run.stdout) as unknown[]).length, 1);
      assert.match(run.stderr, /^promptloom: cannot read missing\.prompt: no such file or folder$/m);
      assertNoStack(run.stderr);
    });

    it('exits 2 for an unreadable file', function () {
      if (process.getuid?.() === 0) {
        // root reads everything; make the file unreadable by being a folder-shaped path instead
        const ws = workspace({ 'file.prompt': GOOD });
        const run = promptloom(['check', 'file.prompt/inner.prompt'], { cwd: ws });
        assert.equal(run.code, 2);
        assert.match(run.stderr, /cannot read file\.prompt\/inner\.prompt: a part of the path is not a folder/);
        return;
      }
      const ws = workspace({ 'locked.prompt': GOOD });
      chmodSync(join(ws, 'locked.prompt'), 0);
      const run = promptloom(['check', 'locked.prompt'], { cwd: ws });
      assert.equal(run.code, 2);
      assert.match(run.stderr, /permission denied/);
    });

    it('refuses files over 16 MB without reading them', () => {
      const ws = workspace({});
      writeFileSync(join(ws, 'huge.prompt'), Buffer.alloc(17 * 1024 * 1024, 'a'));
      const run = promptloom(['check', 'huge.prompt'], { cwd: ws });
      assert.equal(run.code, 2);
      assert.match(run.stderr, /huge\.prompt is 17\.0 MB; files over 16 MB are not read/);
    });

    it('handles a 1 MB template with NUL bytes and CRLF', () => {
      const ws = workspace({});
      const line = 'Hello <<name>>\0 and <<#if x>>y<</if>>\r\n';
      writeFileSync(join(ws, 'big.prompt'), line.repeat(Math.ceil((1 << 20) / line.length)));
      const run = promptloom(['check', 'big.prompt', '--format', 'json'], { cwd: ws });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), [{ file: 'big.prompt', diagnostics: [] }]);
    });

    it('--workspace: model aliases from the workspace’s model table are known', () => {
      const ws = workspace({
        't.prompt': '---\nmodel: fast\n---\nHi',
        '.vscode/settings.json': '{ "promptloom.models": [{ "id": "claude-haiku-5-5", "alias": "fast", "inputPrice": 1, "outputPrice": 5 }] }',
      });
      // From another folder, the defaults' aliases only; from the workspace, its own (as generate).
      const elsewhere = promptloom(['check', join(ws, 't.prompt')], { cwd: tmpdir() });
      assert.equal(elsewhere.code, 1);
      assert.match(elsewhere.stdout, /PL006 Unknown model `fast`/);
      assert.equal(promptloom(['check', 't.prompt'], { cwd: ws }).code, 0);
      const withWs = promptloom(['check', 't.prompt', '--workspace', ws], { cwd: ws });
      assert.equal(withWs.code, 0, withWs.stdout + withWs.stderr);
      assert.equal(promptloom(['render', 't.prompt', '--workspace', '.'], { cwd: ws }).stdout, 'Hi');
    });

    it('bad usage exits 2 with one clear line', () => {
      for (const args of [['check'], ['check', 'x', '--format', 'xml'], ['--bogus'], ['frobnicate']]) {
        const run = promptloom(args);
        assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
        assert.match(run.stderr, /^error: /m);
        assertNoStack(run.stderr);
      }
    });
  });

  describe('render', () => {
    const market = join(EXAMPLES, 'market-volatility.prompt');

    it('prints the rendered body as text', () => {
      const run = promptloom(['render', market, '--param', 'persona=Near Retiree', '--param', 'mention_taxes=yes']);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^Create a conversation of 8 to 14 turns in which a Near Retiree calls/);
      assert.match(run.stdout, /tax-loss harvesting/);
      assert.doesNotMatch(run.stdout, /<<|Scoring favours/, 'no tags or comments survive');
      assert.equal(run.stderr, '');
    });

    it('prints {system, prompt, parameters} as JSON', () => {
      const run = promptloom(['render', market, '--param', 'persona=Anxious Investor', '--format', 'json']);
      assert.equal(run.code, 0, run.stderr);
      const out = JSON.parse(run.stdout) as { system: string; prompt: string; parameters: Record<string, unknown> };
      assert.deepEqual(Object.keys(out), ['system', 'prompt', 'parameters']);
      assert.match(out.system, /The client is a Anxious Investor\.$/);
      assert.deepEqual(out.parameters, {
        persona: 'Anxious Investor',
        investment_amount: 'about $250,000 in a 401(k) and an IRA',
        market_drop_percent: 12,
        years_to_retirement: 10,
        mention_taxes: false,
      });
    });

    it('omits system when the template has none', () => {
      const ws = workspace({ 't.prompt': 'Hi <<who>>' });
      const run = promptloom(['render', 't.prompt', '--param', 'who=x=y', '--format', 'json'], { cwd: ws });
      assert.deepEqual(JSON.parse(run.stdout), { prompt: 'Hi x=y', parameters: { who: 'x=y' } });
    });

    it('reads --params from a file and lets --param override it', () => {
      const ws = workspace({ 'v.json': JSON.stringify({ persona: 'Skeptical Beginner', years_to_retirement: 30 }) });
      const run = promptloom(['render', market, '--params', join(ws, 'v.json'), '--param', 'years_to_retirement=5', '--format', 'json']);
      assert.equal(run.code, 0, run.stderr);
      const out = JSON.parse(run.stdout) as { parameters: Record<string, unknown> };
      assert.equal(out.parameters.persona, 'Skeptical Beginner');
      assert.equal(out.parameters.years_to_retirement, 5);
    });

    it('merges several --params files in order', () => {
      const ws = workspace({ 'a.json': '{"persona": "Near Retiree", "years_to_retirement": 1}', 'b.json': '{"years_to_retirement": 2}' });
      const run = promptloom(['render', market, '--params', 'a.json', '--params', 'b.json', '--format', 'json'], { cwd: ws });
      assert.equal(run.code, 0, run.stderr);
      const out = JSON.parse(run.stdout) as { parameters: Record<string, unknown> };
      assert.equal(out.parameters.persona, 'Near Retiree');
      assert.equal(out.parameters.years_to_retirement, 2);
    });

    it('reads --params - from standard input', () => {
      const run = promptloom(['render', market, '--params', '-'], { input: '{"persona": "Near Retiree"}' });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /a Near Retiree calls/);
    });

    it('invalid values: exit 1, stderr names each variable and why', () => {
      const run = promptloom([
        'render',
        market,
        '--param',
        'persona=Day Trader',
        '--param',
        'market_drop_percent=200',
        '--param',
        'mention_taxes=maybe',
        '--param',
        '__proto__=x',
      ]);
      assert.equal(run.code, 1);
      assert.equal(run.stdout, '');
      const lines = run.stderr.trim().split('\n');
      assert.match(lines[0]!, /^promptloom: cannot render .*market-volatility\.prompt: invalid values$/);
      assert.deepEqual(lines.slice(1), [
        '  persona: "Day Trader" is not one of the options ("Anxious Investor", "Skeptical Beginner", "Near Retiree")',
        '  market_drop_percent: 200 is above the maximum 60',
        '  mention_taxes: expected true/false/yes/no/1/0, got "maybe"',
        '  __proto__: is not a variable of this template (variables: persona, investment_amount, market_drop_percent, years_to_retirement, mention_taxes)',
      ]);
    });

    it('missing required values: exit 1', () => {
      const run = promptloom(['render', join(EXAMPLES, 'quick-note.prompt')]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^ {2}client_name: is required but has no value$/m);
      assert.match(run.stderr, /^ {2}debt: is required but has no value$/m);
    });

    it('a template with errors: exit 1 with the errors listed', () => {
      const ws = workspace({ 'bad.prompt': BAD });
      const run = promptloom(['render', 'bad.prompt'], { cwd: ws });
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^bad\.prompt:2:7 error PL006/m);
      assert.match(run.stderr, /the template has errors/);
    });

    it('bad --param, bad values file, missing template: exit 2 without a stack', () => {
      const ws = workspace({ 'v.json': '{"persona": ', 'list.json': '[1]', 't.prompt': 'x' });
      const cases: [string[], RegExp][] = [
        [['render', 't.prompt', '--param', 'novalue'], /--param expects name=value, got "novalue"/],
        [['render', 't.prompt', '--params', 'v.json'], /v\.json is not valid JSON/],
        [['render', 't.prompt', '--params', 'list.json'], /must hold one JSON object/],
        [['render', 't.prompt', '--params', 'nope.json'], /cannot read nope\.json/],
        [['render', 'missing.prompt'], /cannot read missing\.prompt: no such file or folder/],
        [['render', '.'], /\. is a folder, not a file/],
      ];
      for (const [args, message] of cases) {
        const run = promptloom(args, { cwd: ws });
        assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
        assert.match(run.stderr, message);
        assertNoStack(run.stderr);
      }
    });

    it('renders with code generation from strings disallowed', () => {
      const run = promptloom(['render', market, '--param', 'persona=Near Retiree', '--format', 'json'], {
        nodeFlags: ['--disallow-code-generation-from-strings'],
      });
      assert.equal(run.code, 0, run.stderr);
      assert.match((JSON.parse(run.stdout) as { prompt: string }).prompt, /Near Retiree/);
    });

    it('a value holding tags comes out as text, escaped per the template', () => {
      const ws = workspace({ 't.prompt': '---\nescape: xml\n---\n[<<a>>]' });
      const run = promptloom(['render', 't.prompt', '--param', 'a=<<a>> & {{b}}'], { cwd: ws });
      assert.equal(run.stdout, '[&lt;&lt;a&gt;&gt; &amp; {{b}}]');
    });
  });
});
