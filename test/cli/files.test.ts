/**
 * Issue 11, "a cloned repository can't hurt you": files that are not files, text that drives the
 * terminal, `export --out` over history, and `--workspace` that is not a folder. Real files, real
 * processes.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { MAX_TEMPLATE_BYTES, readTextFile } from '../../src/cli/files';
import { neutralise, oneLine } from '../../src/cli/output';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { promptloom, runCli, workspace } from '../helpers/cli';

const EXAMPLES = resolve(__dirname, '../../examples');
const GOOD = ['---', 'variables:', '  who: { type: dropdown, options: [Ann, Bob] }', '---', 'Hi <<who>>', ''].join('\n');
/** What a terminal would act on (see neutralise): none of it may be printed raw. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|\r(?!\n)/;
const KEY = 'sk-test-fake-key';

function assertNoStack(text: string): void {
  assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+/);
  assert.doesNotMatch(text, /Error:/);
}

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

/** A listening Unix socket at `path` (open() of it fails with ENXIO). */
function listen(path: string): Promise<Server> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(path, () => done(server));
  });
}

const run = runCli;

describe('issue 11: only regular files are read', () => {
  let ws: string;
  let socket: Server;
  before(async () => {
    ws = workspace({ 'good.prompt': GOOD, 'values.json': '{"who": "Ann"}', 'conversation.json': '{"turns": []}', 'sub/real.prompt': GOOD });
    mkfifo(join(ws, 'fifo.prompt'));
    mkfifo(join(ws, 'fifo.json'));
    mkfifo(join(ws, 'fifo.jsonl'));
    symlinkSync('/dev/zero', join(ws, 'zero.prompt'));
    symlinkSync('/dev/zero', join(ws, 'zero.json'));
    symlinkSync('/dev/zero', join(ws, 'zero.jsonl'));
    symlinkSync('good.prompt', join(ws, 'link.prompt'));
    socket = await listen(join(ws, 'sock.prompt'));
    // A folder the walk searches: links to a device, to a FIFO and to a real template.
    symlinkSync('/dev/zero', join(ws, 'sub', 'zero.prompt'));
    symlinkSync('../fifo.prompt', join(ws, 'sub', 'pipe.prompt'));
    symlinkSync('real.prompt', join(ws, 'sub', 'linked.prompt'));
  });
  after(() => socket.close());

  it('check refuses a FIFO, a device and a socket by name, and checks the other files', () => {
    const r = promptloom(['check', 'good.prompt', 'fifo.prompt', 'zero.prompt', 'sock.prompt', 'link.prompt', '--format', 'json'], { cwd: ws });
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(
      (JSON.parse(r.stdout) as { file: string }[]).map((f) => f.file),
      ['good.prompt', 'link.prompt'],
      'the regular file and the link to one are checked',
    );
    assert.deepEqual(r.stderr.trim().split('\n'), [
      'promptloom: cannot read fifo.prompt: a named pipe (FIFO), not a regular file',
      'promptloom: cannot read zero.prompt: a device, not a regular file',
      'promptloom: cannot read sock.prompt: a socket or device, not a regular file',
      'checked 2 files: 0 errors, 0 warnings',
    ]);
  });

  it('check’s folder walk refuses linked devices and FIFOs and reads linked templates', () => {
    const r = promptloom(['check', 'sub', '--format', 'json'], { cwd: ws });
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(
      (JSON.parse(r.stdout) as { file: string }[]).map((f) => f.file),
      [join('sub', 'linked.prompt'), join('sub', 'real.prompt')],
    );
    assert.match(r.stderr, /^promptloom: cannot read sub\/pipe\.prompt: a named pipe \(FIFO\), not a regular file$/m);
    assert.match(r.stderr, /^promptloom: cannot read sub\/zero\.prompt: a device, not a regular file$/m);
  });

  it('render, --params and score refuse them with one line and exit 2', () => {
    const cases: [string[], string][] = [
      [['render', 'zero.prompt'], 'cannot read zero.prompt: a device, not a regular file'],
      [['render', 'fifo.prompt'], 'cannot read fifo.prompt: a named pipe (FIFO), not a regular file'],
      [['render', 'good.prompt', '--params', 'fifo.json'], 'cannot read fifo.json: a named pipe (FIFO), not a regular file'],
      [['render', 'good.prompt', '--params', 'zero.json'], 'cannot read zero.json: a device, not a regular file'],
      [['score', 'zero.json'], 'cannot read zero.json: a device, not a regular file'],
      [['score', 'fifo.json'], 'cannot read fifo.json: a named pipe (FIFO), not a regular file'],
      [['score', 'zero.jsonl'], 'cannot read zero.jsonl: a device, not a regular file'],
      [['score', 'fifo.jsonl'], 'cannot read fifo.jsonl: a named pipe (FIFO), not a regular file'],
    ];
    for (const [args, message] of cases) {
      const r = promptloom(args, { cwd: ws });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, `promptloom: ${message}\n`, args.join(' '));
      assert.equal(r.stdout, '');
    }
    // What stays allowed: regular files and standard input.
    assert.equal(promptloom(['render', 'link.prompt', '--params', 'values.json'], { cwd: ws }).stdout, 'Hi Ann\n');
    assert.equal(promptloom(['render', 'good.prompt', '--params', '-'], { cwd: ws, input: '{"who": "Bob"}' }).stdout, 'Hi Bob\n');
  });

  it('a workspace’s .vscode/settings.json that is a FIFO is not used, and nothing hangs', () => {
    const folder = workspace({ 't.prompt': 'Hi' });
    mkdirSync(join(folder, '.vscode'));
    mkfifo(join(folder, '.vscode', 'settings.json'));
    const r = promptloom(['check', 't.prompt', '--workspace', '.'], { cwd: folder });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^promptloom: cannot read .*\/\.vscode\/settings\.json: a named pipe \(FIFO\), not a regular file; its settings are not used$/m);
  });

  it('the size cap holds while reading, whatever size the system reports', () => {
    // /proc files report a size of 0 and hold more.
    assert.throws(() => readTextFile('/proc/self/status', 64), { message: '/proc/self/status is over 64 bytes; files over 64 bytes are not read' });
    const exact = join(ws, 'exact.prompt');
    writeFileSync(exact, 'x'.repeat(100));
    assert.equal(readTextFile(exact, 100).length, 100);
    assert.throws(() => readTextFile(exact, 99), { message: `${exact} is 100 bytes; files over 99 bytes are not read` });
    assert.equal(MAX_TEMPLATE_BYTES, 16 * 1024 * 1024);
  });
});

describe('issue 11: printed text cannot drive the terminal', () => {
  it('neutralise escapes controls, DEL, C1 and bidi controls, and keeps tab, newline and CRLF', () => {
    assert.equal(neutralise('a\tb\nc\r\nd'), 'a\tb\nc\r\nd');
    assert.equal(neutralise('\x1b[2J\x07\x00\x7f'), '\\u001b[2J\\u0007\\u0000\\u007f');
    assert.equal(neutralise('over\rwrite'), 'over\\u000dwrite');
    assert.equal(neutralise('\x85\x9b2J\x9f'), '\\u0085\\u009b2J\\u009f');
    assert.equal(neutralise('\u202a\u202e\u2066\u2069'), '\\u202a\\u202e\\u2066\\u2069');
    assert.equal(neutralise('é ü — ✓ \u2065 \u202f'), 'é ü — ✓ \u2065 \u202f', 'other characters pass');
    const value = { s: 'a\x1b[31m\x9b\u202e\r\\\x9bz\u2067', k: ['\x7f'] };
    assert.deepEqual(JSON.parse(neutralise(JSON.stringify(value))), value, 'JSON parses to the same values');
    assert.deepEqual(JSON.parse(neutralise(JSON.stringify(value, null, 2))), value);
  });

  it('a value inside a line of text output cannot start another line', () => {
    assert.equal(oneLine('Advisor\nt.prompt:1:1 error PL001 forged\r\nx\ry'), 'Advisor\\nt.prompt:1:1 error PL001 forged\\nx\\ny');
    const ws = workspace({ 'a\nforged.prompt': '---\ntemprature: 1\n---\nHi\n' });
    const run = promptloom(['check', '.'], { cwd: ws });
    assert.equal(run.stdout.trim().split('\n').length, 1, run.stdout);
    assert.match(run.stdout, /^\.\/a\\nforged\.prompt:2:1 |^a\\nforged\.prompt:2:1 /);
  });

  it('check prints names and template text escaped, and its JSON still parses to them', () => {
    const name = 'e\x1b]0;pwned\x07.prompt';
    const key = 'temp\x1b[2J\x9b\u202erature';
    const ws = workspace({ [name]: `---\n"${key.replace('\x1b', '\\e').replace('\x9b', '\\x9b')}": 1\n---\nHi\n` });
    const text = promptloom(['check', '.', 'missing\x1b[5m.prompt'], { cwd: ws });
    assert.equal(text.code, 2);
    assert.doesNotMatch(text.stdout + text.stderr, UNSAFE);
    assert.match(text.stdout, /^e\\u001b\]0;pwned\\u0007\.prompt:2:1 warning PL007 Unknown front-matter key `temp\\u001b\[2J\\u009b\\u202erature`\. Known: [^\n]*\n$/);
    assert.match(text.stderr, /^promptloom: cannot read missing\\u001b\[5m\.prompt: no such file or folder$/m);

    const json = promptloom(['check', '.', '--format', 'json'], { cwd: ws });
    assert.equal(json.code, 0, json.stderr);
    assert.doesNotMatch(json.stdout, UNSAFE);
    const [report] = JSON.parse(json.stdout) as { file: string; diagnostics: { message: string }[] }[];
    assert.equal(report!.file, name);
    assert.ok(report!.diagnostics[0]!.message.startsWith(`Unknown front-matter key \`${key}\`. Known: `), report!.diagnostics[0]!.message);
  });

  it('render escapes a lone carriage return and controls in values, and keeps CRLF line ends', () => {
    const ws = workspace({ 't.prompt': 'Hi <<who>>\r\nbye\r\n' });
    const r = promptloom(['render', 't.prompt', '--param', 'who=\x1b[8m\rX\u202e'], { cwd: ws });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Hi \\u001b[8m\\u000dX\\u202e\r\nbye\r\n');
    const json = promptloom(['render', 't.prompt', '--param', 'who=\x1b[8m\rX\u202e', '--format', 'json'], { cwd: ws });
    assert.doesNotMatch(json.stdout, UNSAFE);
    assert.equal((JSON.parse(json.stdout) as { prompt: string }).prompt, 'Hi \x1b[8m\rX\u202e\r\nbye\r\n');
  });

  it('stats prints template names and files escaped, and its JSON still parses to them', async function () {
    this.timeout(60_000);
    const file = 'r\x1b[1m.prompt';
    const templateName = 'red\x1b[31m\x9b2J\u202eevil';
    const ws = workspace({ [file]: '---\nname: "red\\e[31m\\x9b2J\\u202Eevil"\n---\nWrite about bonds.\n' });
    const api = await FakeMessagesApi.start({ apiKey: KEY });
    try {
      const generated = await run(['generate', file, '--format', 'json'], ws, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
      assert.equal(generated.code, 0, generated.stderr);
    } finally {
      await api.stop();
    }
    const text = await run(['stats'], ws, {});
    assert.equal(text.code, 0, text.stderr);
    assert.doesNotMatch(text.stdout + text.stderr, UNSAFE);
    assert.match(text.stdout, /^r\\u001b\[1m\.prompt {2}red\\u001b\[31m\\u009b2J\\u202eevil \(template\)$/m);
    const json = await run(['stats', '--format', 'json'], ws, {});
    assert.doesNotMatch(json.stdout, UNSAFE);
    const stats = JSON.parse(json.stdout) as { templates: { name: string; file: string }[] };
    assert.deepEqual(
      stats.templates.map((t) => [t.file, t.name]),
      [[file, templateName]],
    );
    const csv = await run(['stats', '--format', 'csv'], ws, {});
    assert.doesNotMatch(csv.stdout, UNSAFE);
    assert.match(csv.stdout, /red\\u001b\[31m/);
  });
});

describe('issue 11: export --out and standard output', function () {
  this.timeout(60_000);
  let ws: string;
  let expected: string;
  before(async () => {
    ws = workspace({ 't.prompt': 'Write about <<topic>>.' });
    const api = await FakeMessagesApi.start({ apiKey: KEY });
    try {
      const generated = await run(['generate', 't.prompt', '--param', 'topic=bonds', '--count', '2', '--format', 'json'], ws, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
      assert.equal(generated.code, 0, generated.stderr);
    } finally {
      await api.stop();
    }
    expected = promptloom(['export', '--status', 'all'], { cwd: ws }).stdout;
    assert.equal(expected.trim().split('\n').length, 2);
  });

  it('refuses an existing file without --force, and with it replaces the file whole', () => {
    const dir = join(ws, 'out');
    mkdirSync(dir);
    writeFileSync(join(dir, 'data.jsonl'), 'old\n');
    linkSync(join(dir, 'data.jsonl'), join(dir, 'other-name.jsonl'));

    const refused = promptloom(['export', '--status', 'all', '--out', 'out/data.jsonl'], { cwd: ws });
    assert.equal(refused.code, 2);
    assert.equal(refused.stderr, 'promptloom: out/data.jsonl already exists; pass --force to replace it\n');
    assert.equal(readFileSync(join(dir, 'data.jsonl'), 'utf8'), 'old\n');

    const forced = promptloom(['export', '--status', 'all', '--out', 'out/data.jsonl', '--force'], { cwd: ws });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(readFileSync(join(dir, 'data.jsonl'), 'utf8'), expected);
    // Renamed over, not rewritten in place: the other name of the old file still holds it.
    assert.equal(readFileSync(join(dir, 'other-name.jsonl'), 'utf8'), 'old\n');
    assert.deepEqual(readdirSync(dir).sort(), ['data.jsonl', 'other-name.jsonl'], 'no temporary file is left');

    const fresh = promptloom(['export', '--status', 'all', '--out', 'out/new.jsonl'], { cwd: ws });
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.equal(readFileSync(join(dir, 'new.jsonl'), 'utf8'), expected);
    const folder = promptloom(['export', '--out', 'out', '--force'], { cwd: ws });
    assert.equal(folder.code, 2);
    assert.equal(folder.stderr, 'promptloom: cannot write out: it is a folder\n');
    mkfifo(join(dir, 'pipe.jsonl'));
    const pipe = promptloom(['export', '--out', 'out/pipe.jsonl', '--force'], { cwd: ws });
    assert.equal(pipe.code, 2);
    assert.equal(pipe.stderr, 'promptloom: cannot write out/pipe.jsonl: it is not a regular file (leave out --out to write to standard output)\n');
    assert.ok(lstatSync(join(dir, 'pipe.jsonl')).isFIFO(), 'a FIFO is not replaced');
    symlinkSync('data.jsonl', join(dir, 'link.jsonl'));
    const link = promptloom(['export', '--out', 'out/link.jsonl', '--force'], { cwd: ws });
    assert.equal(link.code, 2);
    assert.equal(link.stderr, 'promptloom: cannot write out/link.jsonl: it is a symbolic link; name the file itself\n');
    assert.ok(lstatSync(join(dir, 'link.jsonl')).isSymbolicLink(), 'a link is not replaced');
    const nowhere = promptloom(['export', '--out', 'missing/x.jsonl'], { cwd: ws });
    assert.equal(nowhere.code, 2);
    assert.equal(nowhere.stderr, 'promptloom: cannot write missing/x.jsonl: no such file or folder\n');
  });

  it('never writes inside .promptloom/, even with --force, however the path gets there', () => {
    const db = join(ws, '.promptloom', 'promptloom.db');
    const before = readFileSync(db);
    const listing = readdirSync(join(ws, '.promptloom')).sort();
    symlinkSync('.promptloom', join(ws, 'history'));
    symlinkSync(join('.promptloom', 'promptloom.db'), join(ws, 'innocent.jsonl'));
    symlinkSync(join('history', 'new.jsonl'), join(ws, 'dangling.jsonl'));
    const other = workspace({});
    for (const [out, cwd, from] of [
      ['.promptloom/promptloom.db', ws, ws],
      ['.promptloom/new.jsonl', ws, ws],
      ['nothing/../.promptloom/promptloom.db', ws, ws],
      ['history/promptloom.db', ws, ws],
      ['innocent.jsonl', ws, ws],
      ['dangling.jsonl', ws, ws],
      [db, other, ws],
      [db, other, other], // another workspace's history
    ] as const) {
      const r = promptloom(['export', '--status', 'all', '--out', out, '--force', '--workspace', from], { cwd });
      assert.equal(r.code, 2, `${out}: ${r.stderr}`);
      assert.equal(r.stderr, `promptloom: refusing to write ${out}: it is inside .promptloom/, which holds the workspace’s history database\n`);
    }
    assert.deepEqual(readFileSync(db), before, 'the history is intact');
    assert.deepEqual(readdirSync(join(ws, '.promptloom')).sort(), listing, 'nothing was added');
    assert.equal(promptloom(['export', '--status', 'all'], { cwd: ws }).stdout, expected);
  });

  it('a failed write to standard output is one line and exit 2', () => {
    const full = openSync('/dev/full', 'w');
    try {
      const exported = promptloom(['export', '--status', 'all'], { cwd: ws, stdoutFd: full });
      assert.equal(exported.code, 2);
      assert.equal(exported.stderr, 'promptloom: cannot write to standard output: no space left on device\n', 'and no claim it was exported');
      const checked = promptloom(['check', EXAMPLES, '--format', 'json'], { stdoutFd: full });
      assert.equal(checked.code, 2);
      assert.equal(checked.stderr, 'promptloom: cannot write to standard output: no space left on device\n');
      const help = promptloom(['--help'], { stdoutFd: full });
      assert.equal(help.code, 2);
      assertNoStack(help.stderr);
    } finally {
      closeSync(full);
    }
  });
});

describe('issue 11: --workspace must name an existing folder', () => {
  it('every command that takes it refuses a file and a missing folder with one line, creating nothing', () => {
    const ws = workspace({ 't.prompt': 'Hi', 'file.txt': 'not a folder' });
    // The key lets generate and resume reach the workspace; nothing listens at the address.
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' };
    const commands = [['check', 't.prompt'], ['render', 't.prompt'], ['generate', 't.prompt'], ['resume'], ['stats'], ['export'], ['review', 'abcdef', 'approve']];
    for (const command of commands) {
      const onFile = promptloom([...command, '--workspace', 'file.txt'], { cwd: ws, env });
      assert.equal(onFile.code, 2, `${command[0]}: ${onFile.stderr}`);
      assert.equal(onFile.stderr, `promptloom: workspace ${join(ws, 'file.txt')} is a file, not a folder\n`, command[0]);
      assert.equal(onFile.stdout, '');

      const missing = promptloom([...command, '--workspace', 'typo/deeper'], { cwd: ws, env });
      assert.equal(missing.code, 2, `${command[0]}: ${missing.stderr}`);
      assert.equal(missing.stderr, `promptloom: workspace folder ${join(ws, 'typo', 'deeper')} does not exist\n`, command[0]);
      assert.equal(existsSync(join(ws, 'typo')), false, `${command[0]} created nothing`);
    }
    assert.equal(existsSync(join(ws, '.promptloom')), false);
  });
});
