import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { FLAG_BELOW, flagReason, flagThreshold, formCredit, scoreConversation, toQualityResult, WEIGHTS, type QualityReport } from '../../../src/core/quality';
import { turnCountScore } from '../../../src/core/quality/size';
import { BROKEN_STRUCTURE, GOOD, REPETITIVE, TRUNCATED } from '../../fixtures/conversations';

const u = (content: string) => ({ role: 'user', content });
const a = (content: string) => ({ role: 'assistant', content });
const findingsAt = (r: QualityReport, turn: number, part?: string) => r.findings.filter((f) => f.turn === turn && (part === undefined || f.part === part)).map((f) => f.message);

describe('quality score', () => {
  it('gives a well-formed, coherent conversation full marks and nothing to fix', () => {
    const r = scoreConversation(GOOD);
    assert.equal(r.overall, 10);
    assert.deepEqual(r.breakdown.turnCount, { score: 10, actual: 12, target: { min: 8, max: 16 } });
    assert.deepEqual(r.breakdown.structure, { score: 10, valid: true, issues: [] });
    assert.deepEqual(r.breakdown.confidence, { score: 10, level: 'high' });
    assert.equal(r.breakdown.length.score, 10);
    assert.deepEqual(r.recommendations, []);
    assert.deepEqual(r.findings, []);
  });

  it('returns exactly the contract’s keys from toQualityResult', () => {
    const result = toQualityResult(scoreConversation(REPETITIVE));
    assert.deepEqual(Object.keys(result), ['overall', 'breakdown', 'recommendations']);
    assert.deepEqual(Object.keys(result.breakdown), ['turnCount', 'length', 'structure', 'confidence']);
  });

  it('scores repetition, ignored questions and a confused user low, and says where', () => {
    const r = scoreConversation(REPETITIVE);
    assert.ok(r.overall < FLAG_BELOW, `overall ${r.overall}`);
    assert.equal(r.breakdown.confidence.level, 'low');
    for (const turn of [1, 3, 5]) assert.ok(findingsAt(r, turn, 'confidence').some((m) => m.includes('repeats wording')), `turn ${turn + 1}`);
    assert.ok(findingsAt(r, 3, 'confidence').includes("the user's reply in turn 5 signals confusion"));
    assert.ok(findingsAt(r, 7, 'confidence').includes('does not take up anything from turn 7 (user)'));
    // The repeated answers are a defect now, and the defect comes first.
    assert.match(r.recommendations[0]!, /^turn 4 \(assistant\) nearly repeats turn 2/);
    assert.ok(r.recommendations.some((x) => /^turns 2, 4, 6: vary the wording/.test(x)));
  });

  it('names each structural problem with the turn it is on, counting unreadable turns', () => {
    const r = scoreConversation(BROKEN_STRUCTURE);
    assert.equal(r.breakdown.structure.valid, false);
    assert.equal(r.breakdown.structure.score, 0);
    assert.deepEqual(r.breakdown.structure.issues, [
      'turn 1 is from the assistant; conversations start with the user',
      'turn 2 (user) is empty',
      'turn 3 (user) follows another user turn; roles must alternate',
      'turn 4 (assistant) has no text "content"',
    ]);
    assert.deepEqual(findingsAt(r, 3), ['turn 4 (assistant) has no text "content"']);
    // The empty turn is a structure problem only, not also a "terse" one.
    assert.deepEqual(findingsAt(r, 1), ['turn 2 (user) is empty']);
    assert.ok(r.recommendations[0]!.startsWith('fix the structure:'));
  });

  it('flags a conversation whose last answer is cut off mid-sentence', () => {
    const r = scoreConversation(TRUNCATED);
    assert.deepEqual(findingsAt(r, 11, 'confidence'), ['turn 12 (assistant) is cut off mid-sentence: “…worth reviewing the”', 'looks cut off mid-sentence']);
    assert.ok(r.overall < scoreConversation(GOOD).overall);
    assert.ok(flagReason(r, undefined), `overall ${r.overall} passed the default threshold of 6`);
    assert.match(r.recommendations.join('\n'), /turn 12: finish the sentence/);
  });

  it('uses the spec’s turn-count bands', () => {
    const bands: [number, number][] = [[0, 3], [3, 3], [4, 5], [5, 5], [6, 7], [7, 7], [8, 10], [16, 10], [17, 7], [20, 7], [21, 5], [24, 5], [25, 3], [100, 3]];
    for (const [n, score] of bands) assert.equal(turnCountScore(n), score, `${n} turns`);
  });

  it('measures length against the tier and words advice on the worst turn', () => {
    const short = { turns: GOOD.turns.map((t, i) => (i === 3 ? a('Move some into bonds over time.') : t)) };
    const r = scoreConversation(short);
    assert.equal(r.recommendations.find((x) => x.startsWith('turn 4')), 'turn 4 (assistant) is 6 words; assistant answers in the template tier run 40–120');
    assert.ok(r.breakdown.length.score < 10);
    // The same conversation falls shorter of the scenario tier's longer answers.
    const scenario = scoreConversation(GOOD, 'scenario');
    assert.deepEqual(scenario.breakdown.length.target.assistant, { min: 60, max: 200 });
    assert.ok(scenario.breakdown.length.score < scoreConversation(GOOD, 'template').breakdown.length.score);
    assert.match(scenario.recommendations.join('\n'), /assistant answers in the scenario tier run 60–200/);
  });

  it('catches garbled text, deflected questions and generic filler', () => {
    const base = GOOD.turns.slice(0, 8);
    const garbled = scoreConversation({ turns: base.map((t, i) => (i === 1 ? a(', S. ,,. Just saying : I ;; ..') : t)) });
    assert.ok(findingsAt(garbled, 1, 'confidence').includes('garbled text: broken words or stray punctuation'));
    assert.deepEqual(findingsAt(scoreConversation({ turns: base }), 1), []);
    const deflected = scoreConversation({ turns: base.map((t, i) => (i === 5 ? a('I am not sure about bonds, I do not know what percentage would suit you, sorry about that.') : t)) });
    assert.ok(findingsAt(deflected, 5, 'confidence').includes('leaves the question in turn 5 unanswered'));
    const filler = scoreConversation({ turns: base.map((t, i) => (i === 3 ? a('Great question! As an AI, I think retirement planning matters a lot for everyone. I hope this helps, and let me know if you have any other questions about stock index funds.') : t)) });
    assert.ok(findingsAt(filler, 3, 'confidence').includes('generic filler instead of specific content'));
    for (const r of [garbled, deflected, filler]) assert.ok(r.breakdown.confidence.score < 10);
  });

  it('does not take acronyms for garbled text', () => {
    const withAcronyms = { turns: GOOD.turns.map((t) => (t.role === 'assistant' ? { ...t, content: `${t.content} See the HTML docs over HTTPS.` } : t)) };
    const r = scoreConversation(withAcronyms);
    assert.equal(r.findings.filter((f) => f.message.startsWith('garbled')).length, 0);
    assert.ok(r.overall >= 9, String(r.overall));
    assert.ok(scoreConversation({ turns: [GOOD.turns[0]!, { role: 'assistant', content: 'xkcdwrtz bfgkl prrstv mnbvcxz to you' }] }).findings.some((f) => f.message.startsWith('garbled')));
  });

  it('counts Chinese and Japanese by character, so their turns are not one word long', () => {
    const zh = {
      turns: [
        { role: 'user', content: '我的退休储蓄这个月下跌了百分之十二，我很担心，我应该把所有的股票都卖掉吗？' },
        { role: 'assistant', content: '一个月下跌百分之十二确实让人难受，想要采取行动也很正常。不过现在全部卖掉会把亏损变成真正的损失。我们先看看您什么时候需要用这笔钱，以及您的股票和债券比例。' },
        { role: 'user', content: '我五十五岁，打算六十二岁退休。大部分钱都在股票指数基金里，大概百分之八十。' },
        { role: 'assistant', content: '离退休还有七年，百分之八十的股票比例偏高。很多规划师会建议随着退休临近逐步增加债券，这样市场下跌时对您的影响会小一些。关键是逐步调整，每个季度调整一点。' },
      ],
    };
    const r = scoreConversation(zh);
    assert.ok(r.breakdown.length.actual.assistant >= 40, JSON.stringify(r.breakdown.length));
    assert.ok(r.breakdown.confidence.score >= 8, JSON.stringify(r.findings));
  });

  it('puts first the recommendation that wins back the most points', () => {
    // Six good turns (ending on the close) with a garbled answer: the confidence fix is worth more
    // than the turn count.
    const turns = [...GOOD.turns.slice(0, 4), ...GOOD.turns.slice(10)].map((t, i) => (i === 3 ? { ...t, content: ', S. ,,. Just saying : I ;; .. ?? !!' } : t));
    const r = scoreConversation({ turns });
    assert.equal(r.breakdown.turnCount.score, 7);
    assert.match(r.recommendations[0]!, /garbled/);
  });

  it('earns form points in full from confidence 8, and in proportion to its square below', () => {
    const r = scoreConversation(REPETITIVE);
    const b = r.breakdown;
    const form = WEIGHTS.turnCount * b.turnCount.score + WEIGHTS.length * b.length.score + WEIGHTS.structure * b.structure.score;
    assert.equal(r.overall, Math.round((form * formCredit(b.confidence.score) + WEIGHTS.confidence * b.confidence.score) * 10) / 10);
    assert.equal(formCredit(10), 1);
    assert.equal(formCredit(8), 1);
    assert.equal(formCredit(4), 0.25);
    assert.equal(formCredit(0), 0);
  });

  it('scores anything without throwing, within 0–10, and recommends something below 6', () => {
    const turn = fc.record({ role: fc.oneof(fc.constantFrom('user', 'assistant'), fc.anything()), content: fc.oneof(fc.lorem({ maxCount: 40 }), fc.string(), fc.anything()) }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.record({ turns: fc.array(fc.oneof(turn, fc.anything()), { maxLength: 30 }) })), (input) => {
        const r = scoreConversation(input);
        assert.ok(Number.isFinite(r.overall) && r.overall >= 0 && r.overall <= 10, String(r.overall));
        for (const part of Object.values(r.breakdown)) assert.ok(part.score >= 0 && part.score <= 10);
        if (r.overall < FLAG_BELOW) assert.ok(r.recommendations.length > 0, JSON.stringify(input));
        assert.ok(r.recommendations.length <= 6);
        assert.deepEqual(scoreConversation(input), r, 'deterministic');
      }),
      { numRuns: 400 },
    );
  });

  it('handles inputs that are not conversations at all', () => {
    for (const input of [null, 'text', 42, [], {}, { turns: 'x' }, { turns: [] }]) {
      const r = scoreConversation(input);
      assert.equal(r.breakdown.structure.valid, false);
      assert.ok(r.overall < FLAG_BELOW);
      assert.ok(r.recommendations.length > 0);
    }
  });

  it('keeps a 1 MB turn linear and scored', () => {
    const huge = 'word '.repeat(200_000);
    const r = scoreConversation({ turns: [u(huge), a(huge)] });
    assert.equal(r.breakdown.turnCount.actual, 2);
    assert.ok(r.findings.some((f) => f.part === 'confidence' && f.message.startsWith('repeats')));
  });
});

describe('auto-flag', () => {
  it('flags below 6, or below the template threshold × 10 when that is higher', () => {
    assert.equal(flagThreshold(undefined), 6);
    assert.equal(flagThreshold(0.5), 6);
    assert.equal(flagThreshold(0.75), 7.5);
    const good = scoreConversation(GOOD);
    assert.equal(flagReason(good, 0.75), undefined);
    const bad = scoreConversation(REPETITIVE);
    const reason = flagReason(bad, undefined)!;
    assert.match(reason, new RegExp(`^scored ${bad.overall.toFixed(1)}, below 6: turn 4 \\(assistant\\) nearly repeats turn 2`));
  });
});
