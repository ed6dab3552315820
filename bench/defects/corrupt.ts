/**
 * One corruption per defect kind: each takes a clean conversation (and the whole clean set, for
 * answers borrowed from elsewhere) and returns a corrupted copy. Seeded: the same run every time.
 */
import { seededRandom } from '../../src/core/generation/random';
import type { CleanConversation, Turn } from './types';

export const DEFECT_KINDS = [
  'truncated',
  'repetition',
  'offTopic',
  'roleBreak',
  'residue',
  'meta',
  'swapped',
  'incoherent',
  'language',
  'contradiction',
  'noClose',
] as const;
export type DefectKind = (typeof DEFECT_KINDS)[number];

type Random = () => number;
const pick = <T>(random: Random, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const clone = (turns: readonly Turn[]): Turn[] => turns.map((t) => ({ ...t }));
const assistantPositions = (turns: readonly Turn[]) => turns.flatMap((t, i) => (t.role === 'assistant' ? [i] : []));
/** An assistant answer in the middle: not the first, not the last. */
const middleAnswer = (random: Random, turns: readonly Turn[]) => {
  const ps = assistantPositions(turns);
  return pick(random, ps.slice(1, -1).length ? ps.slice(1, -1) : ps);
};
const sentences = (text: string) => text.match(/[^.!?]+[.!?]+["')]*\s*/g)?.map((s) => s.trim()) ?? [text];

export function corrupt(kind: DefectKind, c: CleanConversation, all: readonly CleanConversation[], seed: number): Turn[] {
  const random = seededRandom(seed);
  const turns = clone(c.turns);
  const last = turns.length - 1;
  switch (kind) {
    case 'truncated': {
      // The last answer stops mid-sentence, at a word that does not end a sentence.
      const words = turns[last]!.content.split(' ');
      const cuts = words.map((_, i) => i).filter((i) => i >= words.length * 0.35 && i <= words.length * 0.85 && /[A-Za-z0-9]$/.test(words[i]!));
      const cut = pick(random, cuts);
      turns[last]!.content = words.slice(0, cut + 1).join(' ');
      return turns;
    }
    case 'repetition': {
      const ps = assistantPositions(turns);
      const variant = pick(random, ['verbatim', 'near', 'within', 'loop'] as const);
      if (variant === 'loop') {
        // The second half replays the first.
        const half = Math.floor(turns.length / 4) * 2;
        for (let i = half; i < turns.length; i++) turns[i] = { ...turns[i - half]! };
        return turns;
      }
      const target = ps[ps.length - 2]!;
      const source = turns[ps[0]!]!.content;
      if (variant === 'verbatim') turns[target]!.content = source;
      else if (variant === 'near') {
        const words = source.split(' ');
        for (let k = 0; k < 3; k++) {
          const at = 2 + Math.floor(random() * (words.length - 4));
          words[at] = pick(random, ['really', 'also', 'quite', 'generally', 'usually']);
        }
        turns[target]!.content = words.join(' ');
      } else {
        const own = sentences(turns[target]!.content);
        const head = own.slice(0, Math.max(2, Math.ceil(own.length / 2))).join(' ');
        turns[target]!.content = `${head} ${head}`;
      }
      return turns;
    }
    case 'offTopic': {
      // An answer that belongs to another conversation, from another domain.
      const at = middleAnswer(random, turns);
      const others = all.filter((o) => o.domain !== c.domain);
      const other = pick(random, others);
      const theirs = assistantPositions(other.turns);
      turns[at]!.content = other.turns[pick(random, theirs.slice(1))]!.content;
      return turns;
    }
    case 'roleBreak': {
      const at = middleAnswer(random, turns);
      const text = turns[at]!.content;
      const variant = Math.floor(random() * 5);
      if (variant === 0) turns[at]!.content = `As an AI language model, I don't have personal experience, but ${text[0]!.toLowerCase()}${text.slice(1)}`;
      else if (variant === 1) turns[at]!.content = 'I\'m sorry, but I cannot provide personalized advice on this topic. I would recommend speaking with a qualified professional who can review your specific situation in detail.';
      else if (variant === 2) turns[at]!.content = `${text} Please note that I am not a licensed professional, and this information is for general informational purposes only.`;
      else if (variant === 3) turns[at]!.content = `As an AI, I don't have access to your records, so I can only offer general guidance here. ${text}`;
      else turns[at]!.content = `I'm unable to help with that request. ${sentences(text).slice(0, 2).join(' ')}`;
      return turns;
    }
    case 'residue': {
      const placeholder = pick(random, ['<<client_name>>', '{{name}}', '[Client Name]', '{persona}', '{{user_goal}}', '[Your Name]', '<<advisor>>']);
      const at = pick(random, turns.map((_, i) => i).slice(1, -1));
      const text = turns[at]!.content;
      turns[at]!.content = turns[at]!.role === 'assistant' ? `Thanks, ${placeholder}. ${text}` : `${text} By the way, my name is ${placeholder}.`;
      return turns;
    }
    case 'meta': {
      const variant = Math.floor(random() * 4);
      if (variant === 0) turns[last]!.content = `${turns[last]!.content}\n\nI hope this conversation meets your requirements! Let me know if you would like me to adjust the tone or length.`;
      else if (variant === 1) turns[1]!.content = `Here is the conversation you requested:\n\n${turns[1]!.content}`;
      else if (variant === 2) {
        const at = middleAnswer(random, turns);
        turns[at]!.content = `Advisor: ${turns[at]!.content}\n\nClient: ${turns[at + 1]!.content}`;
      } else {
        const at = middleAnswer(random, turns);
        turns[at]!.content = `${turns[at]!.content} (Note: this dialogue shows the assistant addressing the user's concern with specific figures.)`;
      }
      return turns;
    }
    case 'swapped': {
      // From the second exchange on, the user says the advisor's lines and the advisor the user's.
      const from = 2 + 2 * Math.floor(random() * Math.max(1, Math.floor((turns.length - 4) / 4)));
      for (let i = from; i + 1 < turns.length; i += 2) {
        const x = turns[i]!.content;
        turns[i]!.content = turns[i + 1]!.content;
        turns[i + 1]!.content = x;
      }
      return turns;
    }
    case 'incoherent': {
      const at = middleAnswer(random, turns);
      const words = turns[at]!.content.split(' ');
      const variant = Math.floor(random() * 4);
      if (variant === 0) {
        for (let i = words.length - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1));
          [words[i], words[j]] = [words[j]!, words[i]!];
        }
        turns[at]!.content = words.join(' ');
      } else if (variant === 1) {
        turns[at]!.content = Array.from({ length: words.length }, (_, i) => (i % 11 === 10 ? `${pick(random, VOCABULARY)}.` : pick(random, VOCABULARY))).join(' ');
        turns[at]!.content = turns[at]!.content[0]!.toUpperCase() + turns[at]!.content.slice(1) + '.';
      } else if (variant === 2) {
        const letters = 'qwrtzxcvbnmlkjhgfdsp';
        turns[at]!.content = Array.from({ length: Math.ceil(words.length * 0.8) }, () => {
          const n = 3 + Math.floor(random() * 7);
          return Array.from({ length: n }, () => letters[Math.floor(random() * letters.length)]).join('') + (random() < 0.15 ? pick(random, [';', '#', '%', '&&', '/']) : '');
        }).join(' ');
      } else {
        // Broken sentences: each stops partway and the next begins somewhere else.
        turns[at]!.content = sentences(turns[at]!.content)
          .map((s) => {
            const w = s.split(' ');
            const cut = Math.max(2, Math.floor(w.length * (0.3 + random() * 0.3)));
            return `${w.slice(0, cut).join(' ').replace(/[,.;:!?]+$/, '')}. ${w.slice(cut + 1, cut + 4).join(' ').replace(/[,.;:!?]+$/, '')}.`;
          })
          .join(' ');
      }
      return turns;
    }
    case 'language': {
      // From a middle answer on, the assistant answers in another language.
      const at = middleAnswer(random, turns);
      const lang = pick(random, FOREIGN);
      for (let i = at; i < turns.length; i++) if (turns[i]!.role === 'assistant') turns[i]!.content = pick(random, lang);
      return turns;
    }
    case 'contradiction': {
      // A later answer restates a fact the user gave (a figure with what it is about, or a
      // relative's name) with another value. An echo counts only when it is the same fact: the
      // same figure with the same unit word after it, or sharing a content word with the user's
      // sentence ("$2,400 of essentials" after "my essentials are closer to $2,400"); "6
      // minutes" is not an echo of "6 months". Figures are replaced as whole tokens.
      const userFigures: { token: string; next: string; words: Set<string>; sentence: string; turn: number }[] = [];
      const userNames: { name: string; turn: number }[] = [];
      turns.forEach((t, turn) => {
        if (t.role !== 'user') return;
        for (const sentence of sentences(t.content)) {
          for (const m of sentence.matchAll(NUMBER)) userFigures.push({ token: m[0], next: wordAfter(sentence, m.index + m[0].length), words: contentWords(sentence), sentence, turn });
        }
        for (const m of t.content.matchAll(/\b(?:my|My) (?:daughter|son|aunt|uncle|father|mother|partner|wife|husband) ([A-Z][a-z]+)/g)) userNames.push({ name: m[1]!, turn });
      });
      const ps = assistantPositions(turns).slice(1);
      const candidates: { at: number; value: string }[] = [];
      for (const at of ps) {
        // Only facts the user gave before this answer can be restated in it.
        const given = userFigures.filter((u) => u.turn < at);
        for (const sentence of sentences(turns[at]!.content)) {
          for (const m of sentence.matchAll(NUMBER)) {
            const next = wordAfter(sentence, m.index + m[0].length);
            const words = contentWords(sentence);
            const echo = given.some((u) => u.token === m[0] && (u.next === next || (/[$%]/.test(m[0]) && [...words].some((w) => u.words.has(w)))));
            if (echo && !candidates.some((c) => c.at === at && c.value === m[0])) candidates.push({ at, value: m[0] });
          }
        }
        for (const { name, turn } of userNames) if (turn < at && turns[at]!.content.includes(name)) candidates.push({ at, value: name });
      }
      if (candidates.length === 0) {
        // No echo to change: the answer opens by restating one of the user's sentences with a
        // figure changed, in the second person ("As you said, your router drops every 30 minutes").
        const withFigure = userFigures.filter((u) => !/\?$/.test(u.sentence));
        const at = ps[0]!;
        if (withFigure.length === 0) return turns;
        const u = pick(random, withFigure);
        const restated = secondPerson(u.sentence.replace(new RegExp(`(?<![\\w$])${escape(u.token)}(?![\\w])`), changeNumber(u.token))).replace(/\.$/, '');
        turns[at]!.content = `As you said, ${restated[0]!.toLowerCase()}${restated.slice(1)}. ${turns[at]!.content}`;
        return turns;
      }
      const { at, value } = pick(random, candidates);
      const replacement = /\d/.test(value) ? changeNumber(value) : pick(random, ['Sophie', 'Maria', 'Laura'].filter((x) => x !== value));
      turns[at]!.content = turns[at]!.content.replace(new RegExp(`(?<![\\w$.,])${escape(value)}(?![\\w]|[.,]\\d)`, 'g'), replacement);
      return turns;
    }
    case 'noClose': {
      // The conversation stops mid-flow: on a user's question, or on an answer before the wrap-up.
      const cut = random() < 0.5 ? turns.length - 1 : turns.length - 2;
      return turns.slice(0, cut);
    }
  }
}

/** A figure: digits with thousands separators and decimals, never a trailing comma or full stop. */
export const NUMBER = /\$?\d+(?:[,.]\d+)*%?/g;

const STOP = new Set('that this with from have your about would could should will they their there what when which more than then also into only just some much very been were each every month year week days weeks months years'.split(' '));
function contentWords(sentence: string): Set<string> {
  return new Set((sentence.toLowerCase().match(/[a-z]{4,}/g) ?? []).filter((w) => !STOP.has(w)).map((w) => w.replace(/s$/, '')));
}
function wordAfter(sentence: string, at: number): string {
  return /^\s*([a-z]+)/i.exec(sentence.slice(at))?.[1]?.toLowerCase() ?? '';
}
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The user's own sentence, as the assistant would say it back. */
function secondPerson(sentence: string): string {
  const swaps: Record<string, string> = { i: 'you', me: 'you', my: 'your', mine: 'yours', we: 'you', us: 'you', our: 'your', "i'm": "you're", am: 'are', was: 'were', myself: 'yourself' };
  return sentence.replace(/\b(?:I|me|my|mine|we|us|our|I'm|am|was|myself|We|My|Our)\b/g, (w) => {
    const to = swaps[w.toLowerCase()]!;
    return w === 'I' || w[0] !== w[0]!.toLowerCase() ? to : to;
  });
}

function changeNumber(value: string): string {
  return value.replace(/\d+(?:[,.]\d+)*/, (digits) => {
    const n = Number(digits.replace(/,/g, ''));
    const changed = n < 10 ? n + 3 : Math.round(n * 1.5);
    return digits.includes(',') ? changed.toLocaleString('en-US') : String(changed);
  });
}

const VOCABULARY = 'harbor quantum velvet orchard lantern whisper cobalt meadow ledger pivot glacier saffron tunnel marble falcon spindle horizon pepper compass thistle canyon ribbon anchor mosaic ember quarry willow beacon lattice summit parcel riddle timber nectar voyage granite puzzle ferry crimson hollow sketch ladder prism oyster gravel tundra kettle banner velvet signal'.split(' ');

const FOREIGN: readonly (readonly string[])[] = [
  [
    'Claro, entiendo perfectamente tu situación. Lo más importante ahora es revisar con calma todas las opciones que tienes y no tomar decisiones apresuradas. Te recomiendo que anotes tus prioridades y que comparemos juntos cada alternativa antes de elegir el siguiente paso.',
    'Me alegra mucho que te sirva este plan. Si tienes más preguntas en las próximas semanas, no dudes en escribirme y lo revisamos juntos con los nuevos datos que tengas.',
  ],
  [
    'Bien sûr, je comprends tout à fait votre situation. Le plus important maintenant est de prendre le temps de comparer les options qui s’offrent à vous, sans vous précipiter. Notez vos priorités et nous verrons ensemble quelle solution vous convient le mieux.',
    'Je suis ravi que ce plan vous aide. N’hésitez pas à revenir vers moi si vous avez d’autres questions dans les semaines qui viennent, et nous ferons le point ensemble.',
  ],
  [
    'Natürlich, ich verstehe Ihre Situation sehr gut. Das Wichtigste ist jetzt, dass Sie sich die Zeit nehmen, alle Möglichkeiten in Ruhe zu vergleichen, bevor Sie sich entscheiden. Schreiben Sie Ihre Prioritäten auf, dann gehen wir die Optionen gemeinsam durch.',
    'Es freut mich, dass Ihnen dieser Plan weiterhilft. Wenn Sie in den nächsten Wochen weitere Fragen haben, melden Sie sich gerne wieder, und wir schauen uns das gemeinsam an.',
  ],
  [
    'Certo, capisco benissimo la tua situazione. La cosa più importante adesso è confrontare con calma tutte le opzioni che hai, senza prendere decisioni affrettate. Scrivi le tue priorità e poi le valutiamo insieme per scegliere il passo migliore.',
  ],
  [
    'Claro, entendo perfeitamente a sua situação. O mais importante agora é comparar com calma todas as opções que você tem, sem tomar decisões precipitadas. Anote as suas prioridades e depois analisamos juntos qual é o melhor caminho.',
  ],
  ['当然，我完全理解您的情况。现在最重要的是冷静地比较您所有的选择，不要匆忙做决定。请先写下您的优先事项，然后我们一起分析哪一个方案最适合您。'],
];
