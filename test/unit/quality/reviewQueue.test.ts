import { strict as assert } from 'node:assert';
import { awaitsVerdict, nextToReview, type Reviewable } from '../../../src/core/quality/reviewQueue';

const row = (id: string, status: Reviewable['status'], statusReason: string | null = null): Reviewable => ({ id, status, statusReason });

describe('the review queue', () => {
  it('waits for a person on pending and scorer-flagged conversations, not on verdicts', () => {
    assert.equal(awaitsVerdict(row('a', 'pending')), true);
    assert.equal(awaitsVerdict(row('b', 'needs_revision', 'quality 4.2 below 6.0')), true);
    assert.equal(awaitsVerdict(row('c', 'needs_revision')), false);
    assert.equal(awaitsVerdict(row('d', 'approved')), false);
    assert.equal(awaitsVerdict(row('e', 'rejected')), false);
  });

  it('goes to the next awaiting row below the one reviewed, skipping verdicts', () => {
    const listing = [row('1', 'approved'), row('2', 'approved'), row('3', 'rejected'), row('4', 'needs_revision', 'flagged'), row('5', 'pending')];
    assert.equal(nextToReview(listing, ['1'])?.id, '4');
  });

  it('wraps to rows above that were skipped, and ends when none is left', () => {
    const listing = [row('1', 'pending'), row('2', 'approved'), row('3', 'rejected')];
    assert.equal(nextToReview(listing, ['3'])?.id, '1');
    assert.equal(nextToReview([row('1', 'approved'), row('2', 'rejected')], ['2']), undefined);
  });

  it('after several rows at once, starts below the lowest of them and never offers one of them', () => {
    const listing = [row('1', 'pending'), row('2', 'pending'), row('3', 'pending'), row('4', 'pending')];
    assert.equal(nextToReview(listing, ['3', '2'])?.id, '4');
    // A row reviewed but not yet re-read as reviewed is not offered again.
    assert.equal(nextToReview(listing, ['4', '1', '2', '3']), undefined);
  });

  it('a reviewed row no longer listed, with no order from before, starts from the top', () => {
    assert.equal(nextToReview([row('1', 'approved'), row('2', 'pending')], ['gone'])?.id, '2');
  });

  it('a verdict that takes the row out of a filtered list goes on below it, not back to the top', () => {
    // Pending only: 1 was skipped, 2 is approved and leaves the list; 3 is next, not 1.
    const before = ['1', '2', '3', '4'];
    const after = [row('1', 'pending'), row('3', 'pending'), row('4', 'pending')];
    assert.equal(nextToReview(after, ['2'], before)?.id, '3');
    // The last one reviewed: back up to the skipped one.
    assert.equal(nextToReview([row('1', 'pending')], ['4'], ['1', '4'])?.id, '1');
    // A conversation that landed meanwhile comes after the rows the reviewer saw.
    assert.equal(nextToReview([row('9', 'pending')], ['2'], ['2'])?.id, '9');
  });
});
