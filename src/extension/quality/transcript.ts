import type { QualityResult } from '../../core/quality';
import { nearDuplicateReason } from '../../core/dataset/nearDuplicates';
import type { ConversationDetails } from '../../core/store';

/** A readable Markdown transcript, and where each turn's text sits in it (0-based lines). */
export interface Transcript {
  readonly text: string;
  /** Per turn: its first and last line. */
  readonly turns: readonly { readonly first: number; readonly last: number }[];
}

import { statusWords } from '../../core/quality/reviewQueue';

export { statusWords };

export function transcript(c: ConversationDetails, quality: QualityResult): Transcript {
  const b = quality.breakdown;
  const lines = [
    `# ${c.templateName} · conversation ${c.id.slice(0, 8)}`,
    '',
    `Template: ${c.templatePath} (${c.tier}) · ${new Date(c.createdAt).toLocaleString()} · ${statusWords(c.status)}`,
    `Quality: ${quality.overall.toFixed(1)} / 10 — turn count ${b.turnCount.score} · length ${b.length.score} · structure ${b.structure.score} · confidence ${b.confidence.score} (${b.confidence.level})${b.judge ? ` · judge ${b.judge.score} (${b.judge.model})` : ''}`,
  ];
  if (c.statusReason) lines.push(`Reason: ${oneLine(c.statusReason)}`);
  const values = Object.entries(c.parameters);
  if (values.length) lines.push(`Values: ${values.map(([k, v]) => `${k} = ${oneLine(String(v))}`).join(' · ')}`);
  lines.push('', '---', '');
  const turns: { first: number; last: number }[] = [];
  c.turns.forEach((turn, i) => {
    const body = turn.content.replace(/\r\n?/g, '\n').split('\n');
    const first = lines.length;
    body[0] = `**${turn.role === 'user' ? 'User' : 'Assistant'} (turn ${i + 1}):** ${body[0]}`;
    lines.push(...body);
    turns.push({ first, last: lines.length - 1 });
    lines.push('');
  });
  return { text: lines.join('\n'), turns };
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** The near-duplicate finding, shown on the first turn: the message, and the other conversation to link to. */
export interface NearDuplicateFinding {
  readonly turn: 0;
  readonly message: string;
  readonly otherId: string;
}

export function nearDuplicateFinding(c: Pick<ConversationDetails, 'nearDuplicateOf' | 'similarity'>): NearDuplicateFinding | undefined {
  if (c.nearDuplicateOf === null || c.similarity === null) return undefined;
  return { turn: 0, message: nearDuplicateReason(c.nearDuplicateOf, c.similarity), otherId: c.nearDuplicateOf };
}
