// Times the quality scorer on a 16-turn conversation in a fresh process (run bundled, as shipped),
// so the heap left by the other benchmarks does not bill it for their garbage.
import { scoreConversation } from '../src/core/quality';
import { GOOD } from '../test/fixtures/conversations';
import { measure } from './measure';

const sixteen = { turns: [...GOOD.turns, ...GOOD.turns.slice(0, 4)] };
const text = JSON.stringify(sixteen);

process.stdout.write(
  JSON.stringify({
    score: measure(() => scoreConversation(sixteen), { batch: 200, rounds: 100 }),
    parse: measure(() => JSON.parse(text), { batch: 200, rounds: 100 }),
    characters: sixteen.turns.reduce((n, t) => n + t.content.length, 0),
  }),
);
