// Times the quality scorer on a 16-turn conversation in a fresh process (run bundled, as shipped),
// so the heap left by the other benchmarks does not bill it for their garbage.
import { scoreConversation } from '../src/core/quality';
import { GOOD } from '../test/fixtures/conversations';

const sixteen = { turns: [...GOOD.turns, ...GOOD.turns.slice(0, 4)] };
const text = JSON.stringify(sixteen);

function measure(fn: () => void, rounds = 100, batch = 200): { median: number; p95: number } {
  for (let i = 0; i < 20 * batch; i++) fn();
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1000 / batch);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, p95: times[Math.floor(times.length * 0.95)]! };
}

process.stdout.write(
  JSON.stringify({
    score: measure(() => scoreConversation(sixteen)),
    parse: measure(() => JSON.parse(text)),
    characters: sixteen.turns.reduce((n, t) => n + t.content.length, 0),
  }),
);
