/**
 * `npm run bench`: figures, not pass/fail. Each line shows Promptloom beside a baseline measured
 * in the same process (Handlebars, which compiles templates to JavaScript with `new Function`)
 * and the target from the issue.
 */
import Handlebars from 'handlebars';
import { parseTemplate, renderTemplate } from '../src/core/template';
import { benchEngine, benchFaultyEngine, FAULTY_DEFINITIONS, FAULTY_SCENARIO } from './engine';
import { benchStore } from './store';
import { RateLimiter } from '../src/core/generation/rateLimiter';
import { measure, type Sample } from './measure';
import { timeShippedScorer } from './shipped';
import { ANALYTICS_SCALE, benchAnalytics } from './analytics';
import { benchPlan } from './plan';
import { DEDUP_SCALE, benchDedup } from './dedup';
import { printTeamStoreBench } from './teamStore';
import { MESSAGE_BATCH_CONVERSATIONS, benchMessageBatches } from './messageBatches';

function fmt(us: number): string {
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(2)} µs`;
}

// ---- a 2,000-line template ------------------------------------------------------------------
const VARS = Array.from({ length: 20 }, (_, i) => `v${i}`);
function largeTemplate(style: 'promptloom' | 'handlebars'): string {
  const tag = (name: string) => (style === 'promptloom' ? `<<${name}>>` : `{{${name}}}`);
  const open = (name: string) => (style === 'promptloom' ? `<<#if ${name}>>` : `{{#if ${name}}}`);
  const close = style === 'promptloom' ? '<</if>>' : '{{/if}}';
  const comment = style === 'promptloom' ? '<<! reviewer note >>' : '{{! reviewer note }}';
  const lines: string[] = [];
  if (style === 'promptloom') {
    lines.push('---', 'name: Large', 'tier: scenario', 'variables:');
    for (const v of VARS) lines.push(`  ${v}:`, '    type: text', '    default: value');
    lines.push('---');
  }
  while (lines.length < 2000) {
    const i = lines.length;
    const v = VARS[i % VARS.length]!;
    if (i % 10 === 0) lines.push(`${open(v)}This paragraph mentions ${tag(v)} only when it is set.${close}`);
    else if (i % 17 === 0) lines.push(comment);
    else lines.push(`Line ${i}: the advisor explains ${tag(v)} and asks about ${tag(VARS[(i + 3) % VARS.length]!)} in plain words.`);
  }
  return lines.join('\n');
}

// ---- a 10-variable template -------------------------------------------------------------------
const SMALL_VARS = ['persona', 'amount', 'years', 'goal', 'risk', 'tone', 'topic', 'city', 'age', 'taxes'];
const smallPromptloom = [
  '---',
  'variables:',
  ...SMALL_VARS.map((v) => (v === 'taxes' ? `  ${v}: { type: boolean, default: false }` : v === 'years' ? `  ${v}: { type: number, min: 0, max: 60 }` : `  ${v}: {}`)),
  '---',
  'Create a conversation where <<persona>> (<<age>>, <<city>>) is worried about <<topic>>.',
  'They have <<amount>> invested, <<years>> years to go, a <<risk>> risk appetite and want to <<goal>>.',
  'Keep the tone <<tone>>. <<#if taxes>>Mention taxes.<</if>>',
].join('\n');
const smallHandlebars = smallPromptloom
  .split('---\n')[2]!
  .replace(/<<#if (\w+)>>/g, '{{#if $1}}')
  .replace(/<<\/if>>/g, '{{/if}}')
  .replace(/<<(\w+)>>/g, '{{$1}}');
const smallValues: Record<string, unknown> = {
  persona: 'Anxious Investor',
  amount: '$250,000',
  years: '12',
  goal: 'retire early',
  risk: 'low',
  tone: 'calm',
  topic: 'market volatility',
  city: 'Leeds',
  age: 'mid-fifties',
  taxes: 'yes',
};

const rows: [string, Sample, string, Sample | string, string][] = [];

const large = largeTemplate('promptloom');
const largeHbs = largeTemplate('handlebars');
{
  const ours = measure(() => parseTemplate(large), { rounds: 60, warmup: 5 });
  const base = measure(() => Handlebars.parse(largeHbs), { rounds: 60, warmup: 5 });
  rows.push(['diagnose 2,000-line template', ours, 'Handlebars.parse, same template', base, '< 10 ms']);
  const hbsCompile = measure(() => Handlebars.compile(largeHbs, { noEscape: true })({}), { rounds: 30, warmup: 3 });
  rows.push(['', ours, 'Handlebars compile + 1st render', hbsCompile, '']);
  rows.push(['', ours, 'dotprompt 1st render (peers.md)', '16–28 ms', '']);
}
{
  const parsed = parseTemplate(smallPromptloom);
  const compiled = Handlebars.compile(smallHandlebars);
  // Handlebars needs typed values already; Promptloom's figure includes validation and coercion.
  const typed = { ...smallValues, years: 12, taxes: true };
  const ours = measure(() => renderTemplate(parsed, smallValues), { batch: 2000, rounds: 100 });
  const base = measure(() => compiled(typed), { batch: 2000, rounds: 100 });
  rows.push(['render 10-variable template', ours, 'Handlebars compiled render', base, '< 20 µs']);
  rows.push(['', ours, 'dotprompt render (peers.md)', '8–23 µs', '']);
  const cold = measure(() => renderTemplate(parseTemplate(smallPromptloom), smallValues), { batch: 200, rounds: 100 });
  const hbsCold = measure(() => Handlebars.compile(smallHandlebars)(typed), { batch: 200, rounds: 100 });
  rows.push(['parse + render, nothing cached', cold, 'Handlebars compile + render', hbsCold, '—']);
}

{
  // The live preview re-parses and re-renders the template on every edit.
  const thousand = largeTemplate('promptloom').split('\n').slice(0, 1000).join('\n');
  const values = Object.fromEntries(VARS.map((v) => [v, 'a value']));
  const ours = measure(() => renderTemplate(parseTemplate(thousand), values), { rounds: 60, warmup: 5 });
  rows.push(['preview update, 1,000-line template', ours, '(parse + render; no peer has a preview)', '—', '< 100 ms']);
}

{
  // The limiter's check on the hot path: called for every request the scheduler considers.
  let now = 1_000_000;
  const limiter = new RateLimiter({ windowMs: 60_000, requests: 1_000_000, inputTokens: 1e12, outputTokens: 1e12 }, now);
  const cost = { requests: 1, inputTokens: 900, outputTokens: 2400 };
  const ours = measure(
    () => {
      now += 7; // traffic over time: the ring advances as a real scheduler's clock would
      if (limiter.waitFor(now, cost) === 0) limiter.record(now, cost);
    },
    { batch: 10_000, rounds: 50 },
  );
  rows.push(['rate limiter check + record', ours, '(no array scan; flat with traffic)', '—', '< 1 µs']);
}

{
  // Scored right after every generation and again whenever an editor shows a conversation.
  const { score, parse, characters } = timeShippedScorer();
  rows.push([`quality score, 16-turn conversation`, score, `JSON.parse of it (${characters} characters)`, parse, '< 50 µs']);
  rows.push(['', score, 'LLM-as-judge (e.g. promptfoo llm-rubric)', '1 API call: seconds, and cost', '']);
}

{
  // Built before a batch starts (and for --dry-run): every cell is rendered to validate it.
  const { ours, base, cells } = benchPlan();
  rows.push([`plan of 10,000 over 4 variables (${cells} cells)`, ours, 'enumerate all, deal out, render each', base, '< 50 ms']);
}

const head = ['benchmark', 'promptloom median (p95)', 'baseline', 'baseline median (p95)', 'target'];
const body = rows.map(([name, ours, baseName, base, target]) => [
  name,
  name ? `${fmt(ours.median)} (${fmt(ours.p95)})` : '',
  baseName,
  typeof base === 'string' ? base : `${fmt(base.median)} (${fmt(base.p95)})`,
  target,
]);
console.log(`Node ${process.version}, ${large.split('\n').length}-line template (${(large.length / 1024).toFixed(0)} KB)\n`);
printTable(head, body);

void (async () => {
  console.log('\nWorkspace database: one generation (log, conversation of 12 turns, score) made durable');
  printTable(['database size', 'promptloom: journal append + fsync', 'baseline: rewrite whole file', 'open', 'memory held'], await benchStore());
  console.log('target: durable write under 5 ms, flat as the database grows');

  console.log(`\nAnalytics at scale: ${ANALYTICS_SCALE}`);
  printTable(['query', 'promptloom median', 'baseline', 'baseline median', 'target'], await benchAnalytics());

  console.log(`\nNear-duplicates: ${DEDUP_SCALE}`);
  printTable(['benchmark', 'promptloom', 'baseline', 'target'], await benchDedup());

  // Starts a PostgreSQL server of its own (Debian's postgresql package) and loads 1,000,000 logs.
  await printTeamStoreBench();

  console.log(`\nGeneration: 200 requests against the fake Messages API limited to 20 per 1 s window (8 workers)`);
  printTable(['run', 'completion', '429s received', 'items lost', 'share of allowed rate used'], await benchEngine());
  console.log(FAULTY_DEFINITIONS[0]);
  console.log('targets: zero 429s when the limit is known; at least 90% of the allowed rate; a handful of 429s before adapting to an unknown lower limit');

  console.log(`\nGeneration paths: ${MESSAGE_BATCH_CONVERSATIONS} conversations, each stored and scored, against the fake Messages API`);
  printTable(['path', 'stored', 'cost', 'wall time', 'fake processing time', 'calls'], await benchMessageBatches());
  console.log('target: Message Batches at half the direct cost; wall time close to the processing time');
  console.log(`\nGeneration with faults: ${FAULTY_SCENARIO}`);
  printTable(['run', 'completion', '429s received', 'items lost', 'requests accepted', 'share of allowed rate used', '× ideal schedule'], await benchFaultyEngine());
  for (const definition of FAULTY_DEFINITIONS) console.log(definition);
  console.log('targets: zero 429s, at least 90% of the allowed rate, within 1.1× the ideal schedule');
})();

/** Columns padded to their widest cell, under a header and a rule. */
function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}
