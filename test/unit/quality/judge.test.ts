import { strict as assert } from 'node:assert';
import { DEFAULT_MODELS } from '../../../src/core/generation/engine';
import { judgeModelOf, readSettings } from '../../../src/core/generation/settings';
import { flagReason, scoreConversation } from '../../../src/core/quality';
import { JUDGE_CRITERIA, judgeFindings, judgePart, judgeScore, readGrade, storedJudgePart, withJudge } from '../../../src/core/quality/judge';
import { GOOD } from '../../fixtures/conversations';

const all = (n: number) => Object.fromEntries(JUDGE_CRITERIA.map((c) => [c, n]));

describe('the judge’s rule', () => {
  it('reads a grade, refusing one out of range and dropping turns the conversation does not have', () => {
    assert.equal(readGrade({ criteria: all(6), overall: 8, turns_at_fault: [], reason: 'x' }, 4), undefined);
    assert.equal(readGrade({ criteria: all(4), overall: 0, turns_at_fault: [], reason: 'x' }, 4), undefined);
    const g = readGrade({ criteria: all(4), overall: 8, turns_at_fault: [{ turn: 2, reason: 'off\ntopic' }, { turn: 9, reason: 'no such turn' }], reason: 'fine' }, 4)!;
    assert.deepEqual(g.turnsAtFault, [{ turn: 2, reason: 'off topic' }]);
  });

  it('scores 0.5 × overall + mean criterion, held at 5 when a criterion is 1', () => {
    assert.equal(judgeScore({ criteria: all(5) as never, overall: 10 }), 10);
    assert.equal(judgeScore({ criteria: all(4) as never, overall: 8 }), 8);
    assert.equal(judgeScore({ criteria: { ...all(5), staysInRole: 1 } as never, overall: 9 }), 5);
  });

  it('enters the breakdown and the overall as min(scorer, judge); its turns at fault become findings', () => {
    const report = scoreConversation(GOOD);
    assert.equal(report.overall, 10);
    const bad = judgePart({ criteria: { ...all(5), answersQuestion: 2 } as never, overall: 4, turnsAtFault: [{ turn: 4, reason: 'answers another question' }], reason: 'turn 4 ignores the question' }, 'claude-haiku-5-5', 0.001);
    const judged = withJudge(report, bad);
    assert.equal(judged.overall, bad.score);
    assert.ok(judged.overall < 6);
    assert.deepEqual(judged.breakdown.judge, bad);
    assert.deepEqual(judged.findings, [{ turn: 3, part: 'judge', message: 'the judge: answers another question' }]);
    assert.equal(judged.recommendations[0], 'the judge: turn 4 ignores the question');
    assert.match(flagReason(judged, undefined)!, /^scored 5\.0, below 6: the judge: turn 4 ignores the question$/);
    assert.deepEqual(judgeFindings(storedJudgePart(JSON.parse(JSON.stringify(judged)))), judged.findings);
    // A judge happier than the scorer does not raise the score.
    const good = judgePart({ criteria: all(5) as never, overall: 10, turnsAtFault: [], reason: 'fine' }, 'm', 0);
    const lower = { ...report, overall: 7 };
    assert.equal(withJudge(lower, good).overall, 7);
    assert.deepEqual(withJudge(lower, good).recommendations, report.recommendations);
  });

  it('settings: off by default; the judge model is the setting, else the cheapest of the table', () => {
    assert.deepEqual(readSettings({ 'promptloom.quality.judge': 'on', 'promptloom.quality.judgeModel': 'opus' }).settings, { judge: 'on', judgeModel: 'opus' });
    assert.match(readSettings({ 'promptloom.quality.judge': 'yes' }).problems[0]!.message, /expected one of off, on$/);
    assert.equal(judgeModelOf({ models: DEFAULT_MODELS })!.alias, 'haiku');
    assert.equal(judgeModelOf({ models: DEFAULT_MODELS, judgeModel: 'sonnet' })!.alias, 'sonnet');
    const table = [{ id: 'claude-a', inputPrice: 9, outputPrice: 9, windowMs: 60_000, requestsPerWindow: 5 }, { id: 'claude-b', inputPrice: 2, outputPrice: 3, windowMs: 60_000, requestsPerWindow: 5 }];
    assert.equal(judgeModelOf({ models: table })!.id, 'claude-b');
  });
});
