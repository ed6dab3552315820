/**
 * Contradictions of what the user said: the assistant restating a fact the user gave — a figure
 * with its unit and what it is about, or the name of a person — with another value.
 *
 * A fact is a slot and a value. The slot of a figure is its unit ("$", "percent", "weeks",
 * "licenses", the word after the number; "age" for "years old" or "I'm 34") and its cue words
 * (the content words around it in its sentence: "salary", "deposit", "tournament"). An
 * assistant's figure contradicts the user when it has the same unit and shares a cue word with a
 * figure the user gave, differs from every figure the user gave, and is not plainly worked out:
 * not a figure the assistant already used, not a sum, difference, product or ratio of figures
 * said before it, not in a hypothetical ("if you earned 90,000"), not a projection ("in 10 years
 * you'll be 44"). Units that say nothing of the slot on their own (a bare number, a time of day)
 * need the sentence to speak of the user ("you", "your") as well.
 *
 * Names: a relative the user named ("my daughter Emma") called something else ("your daughter
 * Sophie"), or, in an answer that no longer names them, replaced by a new name in a person's
 * place ("a Roth IRA for Laura").
 */
import type { ScoredTurn } from './types';

export interface UserFacts {
  figures: Figure[];
  /** Every number the user gave, as a normalised value. */
  values: Set<number>;
  /** Numbers the assistant said in the turns before `saidThrough` (filled as answers are read, in order). */
  said: Set<number>;
  saidThrough: number;
  /** Relatives the user named: relation → name. */
  names: Map<string, string>;
}

interface Figure {
  value: number;
  unit: string;
  cues: string[];
  /** The sentence speaks of the user: you, your (in an assistant's turn) — the user's own, in theirs. */
  attributed: boolean;
  /** Whose figure it is, when a relative is named beside it ("my husband earns $62,000"); '' for the user's own. */
  owner: string;
  /** Introduced as known: "the 16 weeks", "all 12 nights". */
  definite: boolean;
  text: string;
  /** Where it is in its sentence. */
  at: number;
}

const RELATIVES = 'daughter|son|aunt|uncle|father|mother|dad|mom|mum|partner|wife|husband|brother|sister|grandmother|grandfather|friend|colleague|manager|boss|dog|cat';
const OWNER = new RegExp(`\\b(?:my|your|his|her|their|the) (${RELATIVES})(?:['’]s)?\\b`);
const RELATIVE = new RegExp(`\\b([Mm]y|[Yy]our) (${RELATIVES}) ([A-Z][a-z]+)`, 'g');
const FIGURE = /[$€£]?\d+(?:[.,]\d+)*(?:\s?%)?/g;
const WORD = /[a-z]+(?:['’][a-z]+)?/g;
const ATTRIBUTED = /\byou(?: said| mentioned| told me| stated)(?: \w+){0,3}? (\$?\d[\d,]*(?:\.\d+)?%?)|(\$?\d[\d,]*(?:\.\d+)?%?)(?: \w+){0,2} (?:that )?you (?:mentioned|said|gave|stated|told me)\b/gi;
const YOU = /\b(?:you|your|you['’]re|you['’]ve|yours)\b/i;
/** What ATTRIBUTED needs: it only runs on answers that say the user said something. */
const CLAIMED = /\byou (?:said|mentioned|told|stated|gave)\b/i;
/** The user, or a person they spoke of (their child's fever, their father's trip). */
const PERSON = /\b(?:you|your|you['’]re|you['’]ve|yours|he|she|his|her|him|they|their)\b/i;
/** A figure the answer supposes, or one it projects forward: worked out, not restated. */
const HYPOTHETICAL = /\b(?:if (?:you|your|we|they|it|he|she)\b(?:\s+\w+){0,2}\s+(?:were|had|earned|made|got|saved|spent|paid|did|could|increased|decreased|raised|cut|changed|went|took|put|moved|doubled)|what if|suppose|imagine|let['’]s say|say you|even if|for example|for instance|e\.g\.)/i;
const PROJECTION = /\b(?:in (?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty) (?:more )?(?:years?|months?|weeks?|days?|hours?|minutes?)|by the time|after (?:\d+|one|two|three|four|five|six|ten) \w+|you['’]ll be|you will be|will (?:be|grow|reach|come to|turn)|would (?:be|grow|reach|come to))\b/gi;
/** A remainder or a total: worked out from the user's figures ("you would have about $105,000 left"). */
const DERIVED = /\b(?:left|left over|remaining|remainder|in total|altogether|combined|all told)\b/i;
/** A range is an estimate ("$30 to $75", "between 5 and 15 percent"), not a restated fact; "from 4 cups to 2" starts at one. */
const RANGE = /(?<!from )([$€£]?\d[\d,.]*%?)(?:\s?(?:to|-|–|or)\s?[$€£]?\d[\d,.]*%?)|between [$€£]?\d[\d,.]*%? and [$€£]?\d[\d,.]*%?/gi;

/** Words around a figure that say nothing of what it is about. */
const NOT_CUES = new Set(
  (
    'about above after again also around back been before being between both could does doing done down during each even ' +
    'every from have having here into just least less like more most much must next once only other over really same should some ' +
    'such than that their them then there these they this those through under until very were what when where which while will ' +
    'with would your yours just around roughly nearly almost still already maybe perhaps quite rather today tonight tomorrow ' +
    'yesterday week weeks month months year years day days time times hour hours minute minutes good great well sure okay right ' +
    'thank thanks please want need know think make sounds going getting start started first last number numbers total'
  ).split(' '),
);
/** Words after a number that are not its unit. */
const NOT_UNITS = new Set(
  'a an the and or to of in on at for with from by is are was were be it this that these those so but if as than then my your our their his her its we you i he she they or per each every more less which who'.split(' '),
);
const UNIT_WORDS = new Set(['percent', 'cent', 'percentage', 'dollars', 'dollar', 'euros', 'euro', 'pounds']);
/**
 * Units that measure rather than count: "3 weeks" or "$600" can be any of many facts, so they need
 * a cue word in common; "10 licenses" or "4 cups" is one fact on its own.
 */
const MEASURES = new Set('$ % word page calorie step age year month week day night hour minute second time degree mg ml kg lb km mile meter metre euro pound dollar percent gb mb'.split(' '));
const WORD_NUMBERS: Record<string, number> = {
  one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11, twelve: 12,
  fifteen: 15, twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, hundred: 100, half: 0.5, twice: 2, double: 2,
};
const WORD_NUMBER = /\b(?=[otfsehd])(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|hundred|half|twice|double)\b/g;

/** Words before a figure that do not name it: prepositions and the like ("since 1853", "in 2003"). */
const NOT_LABELS = new Set('since until till about around over under after before like than into onto upon within without near past via per between among toward towards'.split(' '));
/** The unit of a labelled figure ("order 58213" → "#order"), or none when the word before it names nothing. */
function label(word: string | undefined): string {
  return word && word.length > 2 && !NOT_UNITS.has(word) && !NOT_CUES.has(word) && !NOT_LABELS.has(word) ? `#${word}` : '';
}

/** A crude stem: "earns", "earned", "earning" and "earn" alike; "charged" and "charge" alike. */
const stem = (w: string) => w.replace(/(?:ing|ed|es|s|e)$/, '').slice(0, 5);

function sentencesOf(text: string): string[] {
  return text.split(/(?<=[.!?])\s+|\n+/);
}

function parseValue(token: string): number {
  return Number(token.replace(/[$€£%\s,]/g, ''));
}

/** The figures of one turn, each with its slot. */
function figuresOf(text: string): Figure[] {
  const out: Figure[] = [];
  for (const sentence of sentencesOf(text)) {
    if (!/\d/.test(sentence)) continue;
    const lower = sentence.toLowerCase();
    const attributed = YOU.test(lower);
    const all = [...sentence.matchAll(FIGURE)];
    for (const [k, m] of all.entries()) {
      const token = m[0].replace(/[.,]$/, '');
      const at = m.index;
      const before = sentence[at - 1] ?? ' ';
      const after = sentence[at + token.length] ?? ' ';
      // Part of an identifier, a fraction, a time or a range ("LIS-88412", "17/12", "9:30", "2-3"): its own kind of value.
      const identifier = /[A-Za-z\-/:]/.test(before) || /[A-Za-z/:]/.test(after) || (after === '-' && /\d/.test(sentence[at + token.length + 1] ?? ''));
      const value = parseValue(token);
      if (!Number.isFinite(value)) continue;
      const rest = lower.slice(at + token.length);
      const next = /^\s*([a-z]+(?:-[a-z]+)*)/.exec(rest)?.[1] ?? '';
      // The words just before it (patterns anchored at its end scan no further).
      const head = lower.slice(Math.max(0, at - 40), at);
      let unit: string;
      // An ordinal ("the 17th century") is a position, not an amount anyone stated.
      if (/^(?:st|nd|rd|th)\b/.test(rest)) continue;
      if (identifier) unit = label(/([a-z]+)\W*$/.exec(head)?.[1]);
      else if (/^[$€£]/.test(token) || /^(?:dollars?|bucks|usd)\b/.test(next)) unit = '$';
      else if (token.endsWith('%') || /^(?:percent|per cent|percentage)\b/.test(rest.trimStart())) unit = '%';
      else if (/^years?[ -]old\b/.test(rest.trimStart()) || next === 'year-old' || /\b(?:i['’]m|i am|you['’]re|you are|aged?|turning|turned|turn)\s*$/.test(head)) unit = 'age';
      // "2 hours ago" is a point in time, not a duration like "the next 48 hours".
      else if (next !== '' && !NOT_UNITS.has(next)) unit = next.replace(/s$/, '') + (/^\s*[a-z-]+\s+ago\b/.test(rest) ? ' ago' : '');
      else {
        // A bare number is named by the word before it ("order 58213", "flight 742"), if any.
        const found = /([a-z]+)\W+(?:([a-z]+)\W+)?$/.exec(head);
        unit = label(found?.[2] === 'number' || found?.[2] === 'no' ? found[1] : found?.[2]);
      }
      // Cue words: near the figure, and never past the figures beside it (each has its own).
      const from = Math.max(at - 60, k > 0 ? all[k - 1]!.index + all[k - 1]![0].length : 0);
      const to = Math.min(at + token.length + 60, k + 1 < all.length ? all[k + 1]!.index : sentence.length);
      const cues: string[] = [];
      const owner = OWNER.exec(lower.slice(from, to))?.[1]?.replace(/['’]s$/, '') ?? '';
      for (const w of lower.slice(from, to).matchAll(WORD)) {
        if (w[0].length < 4 || w[0].length < 4 || NOT_CUES.has(w[0])) continue;
        if (w[0].replace(/s$/, '') === unit || UNIT_WORDS.has(w[0])) continue;
        cues.push(stem(w[0]));
      }
      // "the 16 weeks", "all 12 nights", "your 10 mg": a definite phrase refers to a figure already known.
      const definite = /\b(?:the|all|those|these|your|their|his|her)(?: (?:next|first|last|full|whole|remaining|original))?\s*$/.test(head);
      out.push({ value, unit, cues, owner, attributed, definite, text: token, at });
    }
  }
  return out;
}

function numbersIn(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(FIGURE)) {
    const v = parseValue(m[0].replace(/[.,]$/, ''));
    if (Number.isFinite(v)) out.push(v);
  }
  for (const m of text.toLowerCase().matchAll(WORD_NUMBER)) out.push(WORD_NUMBERS[m[0]]!);
  return out;
}

export function userFacts(turns: readonly ScoredTurn[]): UserFacts {
  const facts: UserFacts = { figures: [], values: new Set(), said: new Set(), saidThrough: 0, names: new Map() };
  for (const t of turns) {
    if (t.role !== 'user') continue;
    if (/\d/.test(t.content)) for (const f of figuresOf(t.content)) facts.figures.push(f);
    for (const v of numbersIn(t.content)) facts.values.add(v);
    for (const m of t.content.matchAll(RELATIVE)) if (m[1]!.toLowerCase() === 'my') facts.names.set(m[2]!, m[3]!);
  }
  return facts;
}

const near = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a));

/**
 * Whether `value` is worked out in its sentence: a sum, difference, product or ratio of a number
 * in the same sentence and a number said before ("with your $2,400 of essentials, three months is
 * $7,200"). Both operands from anywhere would excuse almost any small figure.
 */
function workedOut(value: number, here: readonly number[], said: readonly number[]): boolean {
  for (const a of here) {
    for (const b of [...here, ...said]) {
      if (near(value, a + b) || near(value, Math.abs(a - b)) || near(value, a * b) || near(value, (a * b) / 100)) return true;
      // A ratio, or a ratio as a percentage ("4 percent matched on 4 percent is a 100 percent return").
      if (b !== 0 && (near(value, a / b) || near(value, (100 * a) / b))) return true;
      if (a !== 0 && (near(value, b / a) || near(value, (100 * b) / a))) return true;
    }
  }
  return false;
}

/**
 * The contradiction in the assistant's turn `i`, if any, as a finding's text (without the turn
 * label). `facts` are the user's, from the whole conversation.
 */
export function contradictionIn(turns: readonly ScoredTurn[], i: number, facts: UserFacts): string | undefined {
  const { content } = turns[i]!;
  if (facts.names.size > 0) {
    for (const m of content.matchAll(RELATIVE)) {
      const named = facts.names.get(m[2]!);
      if (m[1]!.toLowerCase() === 'your' && named !== undefined && named !== m[3]) return `contradicts the user: calls their ${m[2]} “${m[3]}”, not “${named}”`;
    }
    const renamed = newNameInPersonsPlace(turns, i, facts);
    if (renamed) return renamed;
  }

  // Numbers said before this turn, by anyone: the material of arithmetic. Answers come in order,
  // so each earlier answer's numbers are read once.
  for (; facts.saidThrough < i; facts.saidThrough++) {
    const t = turns[facts.saidThrough]!;
    if (t.role === 'assistant') for (const v of numbersIn(t.content)) facts.said.add(v);
  }

  if (CLAIMED.test(content)) for (const m of content.matchAll(ATTRIBUTED)) {
    const token = m[1] ?? m[2]!;
    const value = parseValue(token);
    if (facts.values.size === 0 || facts.values.has(value)) continue;
    return `contradicts the user: gives their figure as ${token}, which they never stated`;
  }

  if (facts.figures.length === 0 || !hasFreshFigure(content, facts)) return undefined;
  let said: number[] | undefined;
  for (const sentence of sentencesOf(content)) {
    if (!/\d/.test(sentence)) continue;
    if (!hasFreshFigure(sentence, facts) || HYPOTHETICAL.test(sentence) || DERIVED.test(sentence)) continue;
    // The sentence must be about the user or someone they spoke of, unless the figure refers to
    // a known one ("the 16 weeks") or is labelled ("order 58213", "reference LIS-88412").
    const aboutThem = PERSON.test(sentence);
    const excused = spans(sentence, PROJECTION, RANGE);
    const inSentence = numbersIn(sentence);
    const figures = figuresOf(sentence);
    for (const f of figures) {
      if (facts.values.has(f.value) || f.unit === '' || facts.said.has(f.value) || !(aboutThem || f.definite || f.unit.startsWith('#'))) continue;
      if (excused.some(([start, end]) => f.at >= start && f.at < end)) continue;
      const counted = !MEASURES.has(f.unit.replace(/ ago$/, '')) && !f.unit.startsWith('#');
      // Same unit and same person: "your partner earns $50,000" is not the user's own $85,000.
      const sameUnit = facts.figures.filter((u) => u.unit === f.unit && u.owner === f.owner);
      // A definite figure ("the next 15 minutes") of the unit the user gave one figure in refers to that one.
      const only = f.definite && new Set(sameUnit.map((u) => u.value)).size === 1;
      const stated = sameUnit.filter((u) => counted || only || u.cues.some((c) => f.cues.includes(c)));
      if (stated.length === 0) continue;
      // The sentence gives the user's own figure as well ("with 14 months of service, you meet the
      // 12 month minimum"): this one is another quantity beside it.
      if (figures.some((g) => g !== f && g.unit === f.unit && sameUnit.some((u) => u.value === g.value))) continue;
      said ??= [...facts.values, ...facts.said];
      if (workedOut(f.value, inSentence.filter((v) => v !== f.value), said)) continue;
      const user = stated[0]!;
      return `contradicts the user: gives ${f.text}${/^[a-z]{2,}$/.test(f.unit) ? ` ${f.unit}` : ''} where they said ${user.text}`;
    }
  }
  return undefined;
}

/** Most figures repeat one the user or an answer gave: only a new one can contradict. */
function hasFreshFigure(text: string, facts: UserFacts): boolean {
  FIGURE.lastIndex = 0;
  for (let m = FIGURE.exec(text); m; m = FIGURE.exec(text)) {
    const v = parseValue(m[0].replace(/[.,]$/, ''));
    if (!facts.values.has(v) && !facts.said.has(v)) {
      FIGURE.lastIndex = 0;
      return true;
    }
  }
  return false;
}

/**
 * Where a projection or a range is in a sentence: the figures it holds are worked out or
 * estimated. A projection's own duration ("in 6 days") is not excused: it restates a fact.
 */
function spans(sentence: string, projection: RegExp, range: RegExp): [number, number][] {
  const out: [number, number][] = [];
  for (const m of sentence.matchAll(projection)) {
    // The projected figure follows the cue: the rest of the sentence, past the cue's own number.
    out.push([m.index + m[0].length, sentence.length]);
    if (!/\d/.test(m[0])) out.push([0, m.index]);
  }
  for (const m of sentence.matchAll(range)) out.push([m.index, m.index + m[0].length]);
  return out;
}

/**
 * The user named a relative; this answer no longer uses that name but puts a name never seen in
 * the conversation where a person goes ("for Laura", "Laura's", "Laura will").
 */
function newNameInPersonsPlace(turns: readonly ScoredTurn[], i: number, facts: UserFacts): string | undefined {
  if (facts.names.size === 0) return undefined;
  const { content } = turns[i]!;
  const named = [...facts.names.values()];
  if (named.some((n) => content.includes(n))) return undefined;
  const before = turns.slice(0, i).map((t) => t.content).join('\n');
  for (const m of content.matchAll(/\b(for|to|with|help|ask|tell|let|and|about) ([A-Z][a-z]{2,})\b(?!\s[A-Z])|\b([A-Z][a-z]{2,})(?:['’]s\b| (?:is|was|will|can|could|should|has|had|decides|turns|goes|needs|wants)\b)/g)) {
    const name = m[2] ?? m[3]!;
    if (m.index === 0 && m[3]) continue;
    const start = m.index + (m[2] ? m[0].length - name.length : 0);
    // Not the first word of a sentence, and not seen anywhere earlier.
    if (/[.!?]\s*$|^\s*$/.test(content.slice(0, start))) continue;
    if (before.includes(name)) continue;
    const [relation, person] = [...facts.names.entries()][0]!;
    return `contradicts the user: calls their ${relation} “${name}”, not “${person}”`;
  }
  return undefined;
}
