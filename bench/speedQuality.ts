// Quick: the shipped scorer's time on the bench's 16-turn conversation (same probe as npm run bench).
import { timeShippedScorer } from './shipped';
const { score } = timeShippedScorer();
console.log(JSON.stringify(score));
