import type { Finding, ScoredTurn } from './types';

export interface StructureResult {
  readonly score: number;
  readonly valid: boolean;
  readonly issues: string[];
  /** The turns whose role and content could be read, in order; the other parts score these. */
  readonly turns: ScoredTurn[];
  readonly findings: Finding[];
}

// Points lost per problem: a missing field or a wrong opening breaks training more than one repeat.
const COST = { shape: 10, field: 3, opening: 3, alternation: 2, empty: 2 } as const;

/** Checks the conversation's shape: a turns array, roles that alternate from the user, no empty turns. */
export function checkStructure(conversation: unknown): StructureResult {
  const rawTurns = isRecord(conversation) ? conversation.turns : undefined;
  if (!Array.isArray(rawTurns)) {
    const issue = isRecord(conversation) ? 'no "turns" array' : 'not an object with a "turns" array';
    return { score: 0, valid: false, issues: [issue], turns: [], findings: [] };
  }
  if (rawTurns.length === 0) return { score: 0, valid: false, issues: ['no turns'], turns: [], findings: [] };

  const issues: string[] = [];
  const findings: Finding[] = [];
  const turns: ScoredTurn[] = [];
  let cost = 0;
  const note = (turn: number, message: string, points: number) => {
    issues.push(message);
    findings.push({ turn, part: 'structure', message });
    cost += points;
  };

  let previousRole: string | undefined;
  rawTurns.forEach((raw: unknown, i) => {
    const label = `turn ${i + 1}`;
    if (!isRecord(raw)) return note(i, `${label} is not an object with "role" and "content"`, COST.field);
    const { role, content } = raw;
    if (role !== 'user' && role !== 'assistant') {
      note(i, `${label} has ${describeRole(role)}; expected "user" or "assistant"`, COST.field);
      previousRole = undefined;
      return;
    }
    if (typeof content !== 'string') return note(i, `${label} (${role}) has no text "content"`, COST.field);
    if (i === 0 && role !== 'user') note(i, `${label} is from the assistant; conversations start with the user`, COST.opening);
    if (previousRole === role) note(i, `${label} (${role}) follows another ${role} turn; roles must alternate`, COST.alternation);
    if (content.trim() === '') note(i, `${label} (${role}) is empty`, COST.empty);
    previousRole = role;
    turns.push({ index: i, role, content });
  });

  return { score: Math.max(0, 10 - cost), valid: issues.length === 0, issues, turns, findings };
}

/** A bad role in a few words: never the whole value, which may be huge or nested without end. */
function describeRole(role: unknown): string {
  if (role === undefined) return 'no "role"';
  if (typeof role === 'string') return `role ${JSON.stringify(role.length > 40 ? `${role.slice(0, 40)}…` : role)}`;
  const kind = role === null ? 'null' : Array.isArray(role) ? 'list' : typeof role;
  return `${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind} as its role`;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
