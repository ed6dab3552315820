/**
 * Value plans: building a plan of 10,000 conversations over 4 variables (every cell rendered to
 * validate it), beside a naive planner that enumerates every combination as an object, shuffles
 * them, deals them out to 10,000 conversations and validates each conversation by rendering it.
 * Run alone with `tsx bench/plan.ts`.
 */
import { seededRandom } from '../src/core/generation/random';
import { buildPlan, domainOf, planKey } from '../src/core/plan';
import { parseTemplate, renderTemplate, type Scalar } from '../src/core/template';
import { measure, type Sample } from './measure';

export const PLAN_TEMPLATE = [
  '---',
  'personas: [Anxious Investor, Skeptical Beginner, Retired Teacher, Young Saver, Business Owner, Widow]',
  'variables:',
  '  persona: {}',
  '  tone: { examples: [calm, curt, chatty, formal, worried] }',
  '  years: { type: number, min: 0, max: 40, step: 2 }',
  '  vip: { type: boolean }',
  '  amount: { default: "$250,000" }',
  '  goal: { default: retire early }',
  '---',
  'Create a conversation where <<persona>> (<<tone>>) has <<amount>> invested and <<years>> years to go.',
  'They want to <<goal>>.<<#if vip>> They are a VIP client.<</if>>',
].join('\n');

const COUNT = 10_000;
const VARY = ['persona', 'tone', 'years', 'vip'];

/** The obvious approach: materialise the cartesian product, shuffle, deal round-robin, render every conversation. */
function naivePlan(template: ReturnType<typeof parseTemplate>): Map<string, { values: Record<string, Scalar>; count: number }> {
  let combos: Record<string, Scalar>[] = [{}];
  for (const name of VARY) {
    const domain = domainOf(template, name);
    if (!domain.ok) throw new Error(domain.problem.message);
    combos = combos.flatMap((c) => domain.domain.values.map((v) => ({ ...c, [name]: v })));
  }
  const random = seededRandom(1);
  for (let i = combos.length - 1; i > 0; i--) {
    const k = Math.floor(random() * (i + 1));
    [combos[i], combos[k]] = [combos[k]!, combos[i]!];
  }
  const cells = new Map<string, { values: Record<string, Scalar>; count: number }>();
  for (let n = 0; n < COUNT; n++) {
    const r = renderTemplate(template, combos[n % combos.length]!);
    if (!r.ok) throw new Error(r.problems[0]!.message);
    const key = planKey(r.value.parameters);
    const known = cells.get(key);
    if (known) known.count++;
    else cells.set(key, { values: r.value.parameters, count: 1 });
  }
  return cells;
}

export function benchPlan(): { ours: Sample; base: Sample; cells: number } {
  const template = parseTemplate(PLAN_TEMPLATE);
  const once = buildPlan(template, { vary: VARY, count: COUNT, seed: 1 });
  if (!once.ok) throw new Error(once.problems[0]!.message);
  const ours = measure(() => buildPlan(template, { vary: VARY, count: COUNT, seed: 1 }), { rounds: 30, warmup: 3 });
  const base = measure(() => naivePlan(template), { rounds: 30, warmup: 3 });
  return { ours, base, cells: once.plan.cells.length };
}

if (require.main === module) {
  const { ours, base, cells } = benchPlan();
  const ms = (us: number) => `${(us / 1000).toFixed(2)} ms`;
  console.log(`plan of ${COUNT.toLocaleString('en-US')} over 4 variables (${cells} cells): ${ms(ours.median)} (p95 ${ms(ours.p95)}); naive: ${ms(base.median)} (p95 ${ms(base.p95)}); target < 50 ms`);
}
