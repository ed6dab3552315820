import { strict as assert } from 'node:assert';
import { findingLine, runReasons } from '../../../src/core/analytics';
import { flagReason, scoreConversation, toQualityResult } from '../../../src/core/quality';
import { GOOD, REPETITIVE, type Conversation } from '../../fixtures/conversations';

/** A conversation as the store gives it back, scored and flagged as generation does. */
function stored(c: Conversation, extra: { status?: 'pending' | 'needs_revision' | 'approved'; statusReason?: string | null; nearDuplicateOf?: string; similarity?: number; breakdown?: object } = {}) {
  const report = scoreConversation(c, 'template');
  const quality = toQualityResult(report);
  const reason = flagReason(quality, undefined);
  return {
    status: extra.status ?? (reason ? ('needs_revision' as const) : ('pending' as const)),
    statusReason: extra.statusReason !== undefined ? extra.statusReason : (reason ?? null),
    turns: c.turns,
    tier: 'template',
    quality: { ...quality, ...(extra.breakdown ? { breakdown: { ...quality.breakdown, ...extra.breakdown } } : {}) },
    nearDuplicateOf: extra.nearDuplicateOf ?? null,
    similarity: extra.similarity ?? null,
  };
}

describe('why a test run is flagged', () => {
  it('a run with a defect: flagged with the stored reason, the defect first among its findings, with its rule and turn', () => {
    const r = runReasons(stored(REPETITIVE), 6);
    assert.equal(r.flagged, true);
    assert.equal(r.below, true);
    assert.match(r.verdict, /^flagged: scored \d\.\d, below 6: turn 4 \(assistant\) nearly repeats turn 2/);
    assert.deepEqual(r.findings[0], { turn: 3, kind: 'defect', rule: 'repeated', message: 'turn 4 (assistant) nearly repeats turn 2' });
    // Defects before the checks that lowered confidence, each with the check that found it.
    const kinds = r.findings.map((f) => f.kind);
    assert.ok(kinds.lastIndexOf('defect') < kinds.indexOf('confidence'), kinds.join(' '));
    assert.ok(r.findings.some((f) => f.kind === 'confidence' && f.rule === 'repetition' && f.message === 'repeats wording the assistant already used'));
    assert.equal(findingLine(r.findings[0]!), 'turn 4 · defect repeated · turn 4 (assistant) nearly repeats turn 2');
  });

  it('a high score flagged as a near-duplicate says so, with the near-duplicate as its finding', () => {
    const c = stored(GOOD, { status: 'needs_revision', statusReason: 'near-duplicate of 1a2b3c4d (similarity 0.97)', nearDuplicateOf: '1a2b3c4d-0000-4000-8000-000000000000', similarity: 0.97 });
    assert.ok(c.quality.overall >= 9, `GOOD scores ${c.quality.overall}`);
    const r = runReasons(c, 6);
    assert.equal(r.flagged, true);
    assert.equal(r.below, false);
    assert.equal(r.verdict, 'flagged: near-duplicate of 1a2b3c4d (similarity 0.97)');
    assert.deepEqual(r.findings, [{ turn: 0, kind: 'near-duplicate', message: 'near-duplicate of 1a2b3c4d (similarity 0.97)' }]);
  });

  it('a run flagged at a high score lists what flagged it, not the points it lost (the findings of a run below the threshold are all listed)', () => {
    // GOOD scored for the scenario tier: answers a few words short, a high score all the same.
    const report = scoreConversation(GOOD, 'scenario');
    assert.ok(report.overall >= 9 && report.findings.some((f) => f.part === 'length'), JSON.stringify(report.findings));
    const c = { ...stored(GOOD, { status: 'needs_revision', statusReason: 'near-duplicate of 1a2b3c4d (similarity 0.90)', nearDuplicateOf: '1a2b3c4d', similarity: 0.9 }), quality: toQualityResult(report) };
    assert.deepEqual(runReasons(c, 6).findings.map((f) => f.kind), ['near-duplicate']);
    // Under a threshold of 9.95 the same run is below it: its length findings are reasons too.
    assert.deepEqual([...new Set(runReasons(c, 9.95).findings.map((f) => f.kind))], ['near-duplicate', 'length']);
  });

  it('the judge’s turns at fault are findings of a run it flagged', () => {
    const judge = { score: 4.5, overall: 4, criteria: {}, turnsAtFault: [{ turn: 4, reason: 'answers another question' }], reason: 'turn 4 does not answer', model: 'claude-haiku-5-5', costUsd: 0 };
    const r = runReasons(stored(GOOD, { status: 'needs_revision', statusReason: 'scored 4.5, below 6: the judge: turn 4 does not answer', breakdown: { judge } }), 6);
    assert.equal(r.verdict, 'flagged: scored 4.5, below 6: the judge: turn 4 does not answer');
    assert.deepEqual(r.findings, [{ turn: 3, kind: 'judge', message: 'the judge: answers another question' }]);
  });

  it('below a higher threshold but not flagged: "below", with the first recommendation; a person’s needs-revision without a note is said so', () => {
    const c = stored(REPETITIVE, { status: 'pending', statusReason: null });
    const below = runReasons(c, 6);
    assert.equal(below.flagged, false);
    assert.match(below.verdict, /^below 6\.0: turn 4 \(assistant\) nearly repeats turn 2/);
    assert.ok(below.findings.length > 0);
    assert.equal(runReasons(stored(GOOD, { status: 'needs_revision', statusReason: null }), 6).verdict, 'flagged: marked as needing revision in review');
  });

  it('a run at or above the threshold, not flagged: its review status, no findings', () => {
    const r = runReasons(stored(GOOD), 6);
    assert.deepEqual(r, { flagged: false, below: false, verdict: 'pending review', findings: [] });
    assert.equal(runReasons(stored(GOOD, { status: 'approved' }), 6).verdict, 'approved');
  });
});
