/**
 * Issue 11, "a cloned repository can't hurt you": files that are not files, text that drives the
 * terminal, `export --out` over history, and `--workspace` that is not a folder. Real files, real
 * processes.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { MAX_TEMPLATE_BYTES, readTextFile } from '../../src/cli/files';
import { promptloom, workspace } from '../helpers/cli';

const GOOD = ['---', 'variables:', '  who: { type: dropdown, options: [Ann, Bob] }', '---', 'Hi <<who>>', ''].join('\n');
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
