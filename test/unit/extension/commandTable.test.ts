import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

/**
 * The command table (src/extension/commands.ts, which imports `vscode` and so cannot load here)
 * read as text: every id of its `CommandId` enum.
 */
function tableIds(): string[] {
  const source = readFileSync(join(ROOT, 'src', 'extension', 'commands.ts'), 'utf8');
  const body = /export const enum CommandId \{([\s\S]*?)\n\}/.exec(source)?.[1];
  assert.ok(body, 'CommandId is declared in commands.ts');
  return [...body.matchAll(/=\s*'([^']+)'/g)].map((m) => m[1]!);
}

describe('the command table and package.json', () => {
  it('contribute the same command ids, each once', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { contributes: { commands: { command: string }[]; menus: Record<string, { command?: string }[]> } };
    const contributed = manifest.contributes.commands.map((c) => c.command);
    const ids = tableIds();
    assert.equal(new Set(contributed).size, contributed.length, 'no command is contributed twice');
    assert.equal(new Set(ids).size, ids.length, 'no id appears twice in the table');
    assert.deepEqual([...contributed].sort(), [...ids].sort());
    // Menus name only commands that exist.
    for (const [menu, items] of Object.entries(manifest.contributes.menus)) {
      for (const item of items) if (item.command) assert.ok(ids.includes(item.command), `${menu} names ${item.command}, which is not in the table`);
    }
  });
});
