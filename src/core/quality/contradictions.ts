/**
 * Contradictions of what the user said: the assistant restating a fact the user gave — a figure
 * with its unit and what it is about, or the name of a person — with another value.
 *
 * A fact is a slot and a value. The slot of a figure is its unit ("$", "percent", "weeks",
 * "licenses", the word after the number; "age" for "years old" or "I'm 34") and its cue words
 * (the content words around it in its sentence: "salary", "deposit", "tournament"). Fractions
 * and mixed numbers are values ("17/12", "1 5/12"); "2/3 of the course" is a share. An
 * assistant's figure contradicts the user when it has the same unit and shares a cue word with a
 * figure the user gave, differs from every figure the user gave, and is not plainly worked out:
 * not a figure the assistant already used, not arithmetic the sentence states (a sum, difference,
 * product or ratio of its numbers, or of one and the user's figure it names, in units that fit),
 * not in a hypothetical ("if you earned 90,000"), not a projection ("in 10 years you'll be 44").
 * Amounts and percentages are compared with their sign: "three cards" or "a fee of 3 to 5
 * percent" is not "the 3% period". Units that say nothing of the slot on their own (a bare
 * number, a time of day) need the sentence to speak of the user ("you", "your") as well.
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
  /**
   * The amounts and percentages the user gave, as "$600" and "%20": a sign says what a figure is.
   * A bare number ("I earn 85,000 a year") may be either; "three cards" is neither.
   */
  signed: Set<string>;
  /** Numbers the assistant said in the turns before `saidThrough` (filled as answers are read, in order). */
  said: Set<number>;
  saidThrough: number;
  /** The figures of the answers before `figuresThrough`, read only when a number said before needs its slot. */
  saidFigures: Figure[];
  figuresThrough: number;
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
  /** One of figures its sentence adds up to another ("the 16 weeks, 8 in March and 8 later"): a part, not a total. */
  part?: boolean;
  /** Said to be rounded ("about $319", "roughly 1,900"): worked out when the exact result rounds to it. */
  approx?: boolean;
  /** The same object for the figures of one sentence: figures given together ("minimums are $120, $55 and $25"). */
  sentence: object;
}

/** A number in a sentence and what it counts: the material of arithmetic. */
interface Operand {
  value: number;
  unit: string;
}

const RELATIVES = 'daughter|son|aunt|uncle|father|mother|dad|mom|mum|partner|wife|husband|brother|sister|grandmother|grandfather|friend|colleague|manager|boss|dog|cat';
const OWNER = new RegExp(`\\b(?:my|your|his|her|their|the) (${RELATIVES})(?:['’]s)?\\b`);
const RELATIVE = new RegExp(`\\b([Mm]y|[Yy]our) (${RELATIVES}) ([A-Z][a-z]+)`, 'g');
/** A number, a fraction ("17/12") or a mixed number ("1 5/12", "1 and 5/12"), with its currency or percent sign. */
const FIGURE = /[$€£]?\d+(?:[.,]\d+)*(?:(?: (?:and )?\d+)?\/\d+)?(?:\s?%)?/g;
const WORD = /[a-z]+(?:['’][a-z]+)?/g;
const ATTRIBUTED = /\byou(?: said| mentioned| told me| stated)(?: \w+){0,3}? (\$?\d[\d,]*(?:\.\d+)?%?)|(\$?\d[\d,]*(?:\.\d+)?%?)(?: \w+){0,2} (?:that )?you (?:mentioned|said|gave|stated|told me)\b/gi;
const YOU = /\b(?:you|your|you['’]re|you['’]ve|yours)\b/i;
/** What ATTRIBUTED needs: it only runs on answers that say the user said something. */
const CLAIMED = /\byou (?:said|mentioned|told|stated|gave)\b/i;
/** The user, or a person they spoke of (their child's fever, their father's trip). */
const PERSON = /\b(?:you|your|you['’]re|you['’]ve|yours|he|she|his|her|him|they|their)\b/i;
/** A figure the answer supposes, or one it projects forward: worked out, not restated. */
const HYPOTHETICAL = /\b(?:if (?:you|your|we|they|it|he|she)\b(?:\s+\w+){0,2}\s+(?:were|had|earned|made|got|saved|spent|paid|did|could|increased|decreased|raised|cut|changed|went|took|put|moved|doubled)|what if|suppose|imagine|let['’]s say|say you|even if|for example|for instance|e\.g\.|such as [$€£]?\d|, like [$€£]?\d)/i;
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
const MEASURES = new Set('$ % share word page calorie step age year month week day night hour minute second time degree mg ml kg lb km mile meter metre euro pound dollar percent gb mb'.split(' '));
const WORD_NUMBERS: Record<string, number> = {
  one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11, twelve: 12,
  fifteen: 15, twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, hundred: 100, half: 0.5, twice: 2, double: 2,
};
/** Numbers in words, and the denominators of fractions in words ("a third", "three quarters"). */
const WORD_NUMBER = /\b(?=[otfsehdq])(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|hundred|half|twice|double|thirds?|quarters?|fourths?|fifths?|tenths?)\b/g;
const DENOMINATORS: Record<string, number> = { third: 3, quarter: 4, fourth: 4, fifth: 5, tenth: 10 };
/** "On 3/15" is a date, not a fraction. */
const DATE_BEFORE = /\b(?:on|by|until|till|before|after|from|since|through|due|dated)\s*$/;
/** A rate that holds for a time ("0% for 18 months") is the rate of a period: "the 0% period". */
const FOR_A_TIME = /^\s*(?:[a-z]+\s+)?for (?:\d+|a|an|one|two|three|four|five|six|twelve) (?:years?|months?|weeks?|days?)\b/;
/**
 * A sentence that says it adds or takes away. A sum with an operand from outside the sentence is
 * only worked out in one: "put 10 percent down … once their equity reaches 30 percent" adds nothing.
 */
const ADDS = /\b(?:plus|minus|more|another|extra|additional|add|adds|added|adding|on top|total|together|combined|sum|less|fewer|short|after|left|leaves|leaving|remaining|difference|gap|increase[sd]?|decrease[sd]?|rises?|drops?|raises?|cut|up from|down from|longer|shorter|higher|lower)\b|\+/i;

/** Words before a figure that say it is rounded. */
const APPROX = /\b(?:about|roughly|approximately|around|nearly|almost|close to)\s*$/;

/**
 * What follows a number that names a kind of thing by it: "the 4% rule", "the 22% bracket". Such
 * a definite figure is not the one figure the user gave in its unit; it restates one only with a
 * cue word in common ("I'm in the 24% bracket").
 */
const NAMED_KIND = /^\s*(?:percent |per cent )?(?:rule|guideline|bracket|tier|band)s?\b/;

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
  if (!token.includes('/')) return Number(token.replace(/[$€£%\s,]/g, ''));
  const [, whole, top, bottom] = /(?:(\d+) (?:and )?)?(\d+)\/(\d+)/.exec(token) ?? [];
  return Number(whole ?? 0) + Number(top) / Number(bottom);
}

/** The figures of one turn, each with its slot. */
function figuresOf(text: string): Figure[] {
  const out: Figure[] = [];
  for (const sentence of sentencesOf(text)) {
    if (!/\d/.test(sentence)) continue;
    const first = out.length;
    const together = {};
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
      const fraction = token.includes('/');
      let unit: string;
      // An ordinal ("the 17th century") is a position, not an amount anyone stated; a date ("on 3/15", "12/25/2024") is not a fraction.
      if (/^(?:st|nd|rd|th)\b/.test(rest) || (fraction && (identifier || DATE_BEFORE.test(head)))) continue;
      if (identifier) unit = label(/([a-z]+)\W*$/.exec(head)?.[1]);
      else if (/^[$€£]/.test(token) || /^(?:dollars?|bucks|usd)\b/.test(next)) unit = '$';
      else if (token.endsWith('%') || /^(?:percent|per cent|percentage)\b/.test(rest.trimStart())) unit = '%';
      else if (/^years?[ -]old\b/.test(rest.trimStart()) || next === 'year-old' || /\b(?:i['’]m|i am|you['’]re|you are|aged?|turning|turned|turn)\s*$/.test(head)) unit = 'age';
      // "2 hours ago" is a point in time, not a duration like "the next 48 hours".
      else if (next !== '' && !NOT_UNITS.has(next)) unit = next.replace(/s$/, '') + (/^\s*[a-z-]+\s+ago\b/.test(rest) ? ' ago' : '');
      // A fraction of something is a share of it ("2/3 of the course"); one on its own is a number being worked on ("17/12").
      else if (fraction) unit = next === 'of' ? 'share' : '/';
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
      if (FOR_A_TIME.test(rest)) cues.push('perio');
      // "the 16 weeks", "all 12 nights", "your 10 mg": a definite phrase refers to a figure already known.
      const definite = /\b(?:the|all|those|these|your|their|his|her)(?: (?:next|first|last|full|whole|remaining|original))?\s*$/.test(head) && !NAMED_KIND.test(rest);
      out.push({ value, unit, cues, owner, attributed, definite, text: token, at, sentence: together, ...(APPROX.test(head) ? { approx: true } : {}) });
    }
    markParts(out, first);
  }
  return out;
}

/**
 * Figures of one sentence that add up to another of its figures in the same unit are its parts:
 * the user who splits "the 16 weeks" into 8 and 8 still gave one total.
 */
function markParts(figures: Figure[], from: number): void {
  if (figures.length - from < 3) return;
  for (let k = from; k < figures.length; k++) {
    const whole = figures[k]!;
    const parts = figures.filter((g, j) => j >= from && j !== k && g.unit === whole.unit && g.unit !== '');
    if (parts.length >= 2 && near(whole.value, parts.reduce((sum, g) => sum + g.value, 0))) for (const g of parts) g.part = true;
  }
}

function numbersIn(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(FIGURE)) {
    const v = parseValue(m[0].replace(/[.,]$/, ''));
    if (Number.isFinite(v)) out.push(v);
  }
  const lower = text.toLowerCase();
  for (const m of lower.matchAll(WORD_NUMBER)) {
    const v = wordValue(lower, m[0], m.index);
    if (v !== undefined) out.push(v);
  }
  return out;
}

/** A number word's value; a denominator's is its fraction's ("a third" → 1/3), and "the third week" is a position. */
function wordValue(lower: string, word: string, at: number): number | undefined {
  const den = DENOMINATORS[word.replace(/s$/, '')];
  if (den === undefined) return WORD_NUMBERS[word];
  const top = /(?:^|\s)(a|an|one|two|three|four)[ -]$/.exec(lower.slice(Math.max(0, at - 7), at))?.[1];
  return top === undefined ? undefined : (WORD_NUMBERS[top] ?? 1) / den;
}

/** Numbers in words, with the word after each as its unit ("three months", "a third"). */
function wordNumbersIn(lower: string): Operand[] {
  const out: Operand[] = [];
  for (const m of lower.matchAll(WORD_NUMBER)) {
    const value = wordValue(lower, m[0], m.index);
    if (value !== undefined) out.push({ value, unit: DENOMINATORS[m[0].replace(/s$/, '')] ? '' : unitAfter(lower, m.index + m[0].length) });
  }
  return out;
}

function unitAfter(lower: string, at: number): string {
  const next = /^\s+([a-z]+)/.exec(lower.slice(at, at + 24))?.[1] ?? '';
  if (next === 'percent') return '%';
  return next === '' || NOT_UNITS.has(next) ? '' : next.replace(/s$/, '');
}

export function userFacts(turns: readonly ScoredTurn[]): UserFacts {
  const facts: UserFacts = { figures: [], values: new Set(), signed: new Set(), said: new Set(), saidThrough: 0, saidFigures: [], figuresThrough: 0, names: new Map() };
  for (const t of turns) {
    if (t.role !== 'user') continue;
    const figures = /\d/.test(t.content) ? figuresOf(t.content) : [];
    facts.figures.push(...figures);
    for (const v of numbersIn(t.content)) facts.values.add(v);
    // "Twenty percent" is a percentage the user gave as much as "20%".
    const worded = /percent/i.test(t.content) ? wordNumbersIn(t.content.toLowerCase()) : [];
    for (const o of [...figures, ...worded]) {
      if (signed(o.unit)) facts.signed.add(o.unit + o.value);
      else if (o.unit === '' || o.unit.startsWith('#')) facts.signed.add(`$${o.value}`).add(`%${o.value}`);
    }
    for (const m of t.content.matchAll(RELATIVE)) if (m[1]!.toLowerCase() === 'my') facts.names.set(m[2]!, m[3]!);
  }
  return facts;
}

const near = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a));

/**
 * Whether `f` is worked out in its sentence: a sum, difference, product or ratio of a number in
 * the sentence and either another number in it or a figure of the user's that the sentence names
 * by its slot ("three months of your essentials is $7,200"). Operands from anywhere would excuse
 * almost any small figure.
 */
function workedOut(f: Figure, here: readonly Operand[], named: readonly Figure[], sentence: string, given: readonly Figure[], earlier: readonly Operand[] = []): boolean {
  const adds = ADDS.test(sentence);
  // The total of figures the user gave together ("minimums are $120, $55 and $25" → "your minimums add up to $200").
  if (adds && totalOfGroup(f, named, given)) return true;
  // The difference or sum of two figures of the user's it names, in a sentence that says so ("a
  // house at $2,600 costs about $450 more a month than your $2,150 rent").
  if (adds && named.some((a, k) => named.some((b, j) => j > k && sumOf(f, a, b)))) return true;
  // Operands: one of this sentence's numbers, or a number this answer worked out before it, with
  // another of either or one of the user's figures the sentence names; two of the answer's
  // earlier numbers alone would excuse too much.
  for (const a of [...here, ...earlier]) {
    for (const b of [...here, ...named, ...(here.includes(a) ? earlier : [])]) {
      if ((adds || (here.includes(a) && here.includes(b))) && sumOf(f, a, b)) return true;
      if (productOf(f, a, b) || ratioOf(f, a.value, b.value)) return true;
    }
  }
  return false;
}

/**
 * Whether `f` is the sum of the figures in its unit the user gave in one sentence with a figure it
 * names: "$120, $55 and $25" are named by the cue of the first alone.
 */
function totalOfGroup(f: Figure, named: readonly Figure[], given: readonly Figure[]): boolean {
  for (const sentence of new Set(named.map((u) => u.sentence))) {
    const values = given.filter((u) => u.sentence === sentence && u.unit === f.unit && u.owner === f.owner).map((u) => u.value);
    if (values.length >= 2 && near(f.value, values.reduce((sum, v) => sum + v, 0))) return true;
  }
  return false;
}

/** Only figures in the result's unit, or bare numbers, add up to it: 12 months and 12 months are not 24 weeks. */
function sumOf(f: Figure, a: Operand, b: Operand): boolean {
  if (![a.unit, b.unit].every((u) => u === f.unit || u === '')) return false;
  return equals(f, a.value + b.value) || equals(f, Math.abs(a.value - b.value));
}

/**
 * A product keeps the unit of one of its operands ("three months of $2,400 is $7,200"), and a
 * share keeps the unit of what it is a share of ("20 percent of $400,000"); two blocks of 12
 * months are not 24 weeks.
 */
function productOf(f: Figure, a: Operand, b: Operand): boolean {
  const keeps = (x: Operand) => x.unit === f.unit || x.unit === '';
  if (equals(f, a.value * b.value) && (keeps(a) || keeps(b))) return true;
  return equals(f, (a.value * b.value) / 100) && ((a.unit === '%' && keeps(b)) || (b.unit === '%' && keeps(a)));
}

/** A ratio, or a ratio as a percentage ("4 percent matched on 4 percent is a 100 percent return"). */
function ratioOf(f: Figure, a: number, b: number): boolean {
  if (b !== 0 && (equals(f, a / b) || equals(f, (100 * a) / b))) return true;
  return a !== 0 && (equals(f, b / a) || equals(f, (100 * b) / a));
}

/**
 * Whether `f` states `result`: exactly, or, for a figure said to be rounded ("about $319"), to
 * the place of its last digit that is not a trailing zero (319 ±0.5, "about 1,900" ±50), and within 2%.
 */
function equals(f: Figure, result: number): boolean {
  if (near(f.value, result)) return true;
  if (!f.approx || f.text.includes('/')) return false;
  const digits = f.text.replace(/[^\d.]/g, '');
  const decimals = digits.includes('.') ? digits.length - digits.indexOf('.') - 1 : -(/0*$/.exec(digits)![0].length);
  // Never looser than 2%: "about 10 percent" is not 14.
  return Math.abs(f.value - result) <= Math.min(0.5 * 10 ** -decimals, 0.02 * Math.abs(f.value)) + 1e-9;
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
  const sentences = sentencesOf(content);
  for (const [s, sentence] of sentences.entries()) {
    if (!/\d/.test(sentence)) continue;
    if (!hasFreshFigure(sentence, facts) || HYPOTHETICAL.test(sentence) || DERIVED.test(sentence)) continue;
    // The sentence must be about the user or someone they spoke of, unless the figure refers to
    // a known one ("the 16 weeks") or is labelled ("order 58213", "reference LIS-88412").
    const aboutThem = PERSON.test(sentence);
    const excused = spans(sentence, PROJECTION, RANGE);
    const figures = figuresOf(sentence);
    let here: Operand[] | undefined;
    let earlier: Operand[] | undefined;
    let counts: Figure[] | undefined;
    for (const f of figures) {
      if (givenByUser(f.value, f.unit, facts) || f.unit === '' || !(aboutThem || f.definite || f.unit.startsWith('#'))) continue;
      if (excused.some(([start, end]) => f.at >= start && f.at < end)) continue;
      const stated = statedFigures(f, facts);
      if (stated.length === 0 || saidBefore(f, turns, i, facts)) continue;
      // The sentence gives the user's own figure as well ("with 14 months of service, you meet the
      // 12 month minimum"): this one is another quantity beside it.
      if (figures.some((g) => g !== f && g.unit === f.unit && stated.some((u) => u.value === g.value))) continue;
      here ??= figures.map((g): Operand => g).concat(wordNumbersIn(sentence.toLowerCase()));
      // Operands: this sentence's numbers, the user's figures it names, and what this answer worked
      // out before it ("your profit was $68,000. After your $40,000 salary, the business kept $28,000").
      earlier ??= sentences.slice(0, s).flatMap((e) => (/\d/.test(e) ? figuresOf(e) : []));
      // A count of the user's the sentence names by its unit ("per paycheck" names "26 paychecks").
      counts ??= facts.figures.filter((u) => /^[a-z]{3,}$/.test(u.unit) && !MEASURES.has(u.unit) && new RegExp(`\\b${u.unit}s?\\b`).test(sentence.toLowerCase()));
      if (workedOut(f, here.filter((o) => o.value !== f.value), [...stated, ...counts], sentence, facts.figures, earlier)) continue;
      const user = closest(stated, f.value);
      return `contradicts the user: gives ${f.text}${/^[a-z]{2,}$/.test(f.unit) ? ` ${f.unit}` : ''} where they said ${user.text}`;
    }
  }
  return undefined;
}

/**
 * The user's figures an answer's figure restates: the same unit and the same person, and a cue
 * word in common — or no cue needed, for a counted thing ("10 licenses"), or for a definite figure
 * ("the next 15 minutes", "all 16 weeks") when the user gave one total in that unit.
 */
function statedFigures(f: Figure, facts: UserFacts): Figure[] {
  const counted = !MEASURES.has(f.unit.replace(/ ago$/, '')) && !f.unit.startsWith('#');
  // "Your partner earns $50,000" is not the user's own $85,000.
  const sameUnit = facts.figures.filter((u) => u.unit === f.unit && u.owner === f.owner);
  // Parts of a total ("8 weeks in March and 8 weeks later" of "the 16 weeks") are not totals of their own.
  const only = f.definite && new Set(sameUnit.filter((u) => !u.part).map((u) => u.value)).size === 1;
  return sameUnit.filter((u) => counted || only || u.cues.some((c) => f.cues.includes(c)));
}

/**
 * An answer before this one gave the figure. An amount or a percentage must be the same one: the
 * same sign and a cue word in common, as a number used for something else excuses nothing ("a
 * fee of 3 to 5 percent" is not "the 3% period"). Other numbers go by value alone, as in
 * `givenByUser`.
 */
function saidBefore(f: Figure, turns: readonly ScoredTurn[], i: number, facts: UserFacts): boolean {
  if (!facts.said.has(f.value)) return false;
  if (!signed(f.unit)) return true;
  for (; facts.figuresThrough < i; facts.figuresThrough++) {
    const t = turns[facts.figuresThrough]!;
    if (t.role === 'assistant' && /\d/.test(t.content)) facts.saidFigures.push(...figuresOf(t.content));
  }
  return facts.saidFigures.some((g) => near(g.value, f.value) && g.unit === f.unit && g.cues.some((c) => f.cues.includes(c)));
}

/** The user's figure nearest in value: the one most likely restated. */
function closest(figures: readonly Figure[], value: number): Figure {
  return figures.reduce((best, u) => (Math.abs(u.value - value) < Math.abs(best.value - value) ? u : best));
}

/** Amounts and percentages: the figures whose sign, not a word after them, says what they are. */
function signed(unit: string): boolean {
  return unit === '$' || unit === '%';
}

/**
 * Whether the user gave this number. An amount or a percentage must be one they gave as such: "I
 * have three credit cards" does not give "the 3% period". Other units are read from the word
 * after a number ("8 paid weeks"), too loosely to tell one figure from another by.
 */
function givenByUser(value: number, unit: string, facts: UserFacts): boolean {
  if (signed(unit)) return facts.signed.has(unit + value);
  return facts.values.has(value);
}

/** '$' or '%' when the figure's own sign or the word after it says so, else ''. */
function signOf(token: string, text: string, at: number): string {
  if (/^[$€£]/.test(token)) return '$';
  const end = at + token.length;
  return token.endsWith('%') || text.startsWith(' percent', end) || text.startsWith(' per cent', end) ? '%' : '';
}

/**
 * Most figures repeat one the user or an answer gave: only a new one can contradict, or an
 * amount or percentage an answer gave for something else.
 */
function hasFreshFigure(text: string, facts: UserFacts): boolean {
  FIGURE.lastIndex = 0;
  for (let m = FIGURE.exec(text); m; m = FIGURE.exec(text)) {
    const v = parseValue(m[0].replace(/[.,]$/, ''));
    const sign = signOf(m[0], text, m.index);
    if (!givenByUser(v, sign, facts) && (sign !== '' || !facts.said.has(v))) {
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
