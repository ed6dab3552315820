import { strict as assert } from 'node:assert';
import { contradictionIn, userFacts } from '../../../src/core/quality/contradictions';
import type { ScoredTurn } from '../../../src/core/quality/types';

// The contradiction detector on its own: a user's facts, then one answer. Each positive case has
// a negative twin that differs only in what makes it not a contradiction.

function conversation(...contents: string[]): ScoredTurn[] {
  return contents.map((content, index) => ({ role: index % 2 === 0 ? 'user' : 'assistant', content, index }) as ScoredTurn);
}

/** The finding for the conversation's last turn (an answer), if any. */
function verdict(...contents: string[]): string | undefined {
  const turns = conversation(...contents);
  return contradictionIn(turns, turns.length - 1, userFacts(turns));
}

const INTRO = "I'm 34 and earn $85,000 a year as a nurse. How much should I put into my retirement account?";
const FIRST = 'A common rule of thumb is to save 15 percent of your income for retirement, including any employer match.';

describe('contradictions of what the user said', () => {
  it('an age and a salary restated with other values', () => {
    const found = verdict(INTRO, FIRST, 'What if I can only manage a little less?', 'At 43 with your $58,000 salary, even 10 percent a year adds up over time.');
    assert.match(found ?? '', /contradicts the user: gives (43|\$58,000) where they said (34|\$85,000)/);
    assert.equal(verdict(INTRO, FIRST, 'What if I can only manage a little less?', 'At 34 with your $85,000 salary, even 10 percent a year adds up over time.'), undefined);
  });

  it('a count of things the user has, with no cue needed', () => {
    const user = 'Our team bought 10 licenses of your design software, and two people cannot activate it.';
    assert.match(verdict(user, 'Let us check the seats.', 'Which page shows them?', 'Since you have 15 licenses, open the Licenses page and look for an unassigned seat.') ?? '', /gives 15 license where they said 10/);
    assert.equal(verdict(user, 'Let us check the seats.', 'Which page shows them?', 'Since you have 10 licenses, open the Licenses page and look for an unassigned seat.'), undefined);
  });

  it('a labelled figure: an order or reference number', () => {
    const user = 'I ordered a standing desk, order number 58213, and it arrived with a cracked leg.';
    assert.match(verdict(user, 'I am sorry to hear that.', 'Can you pick it up on Thursday?', 'Thursday morning is booked for order 87320, and a confirmation email is on its way.') ?? '', /gives 87320 where they said 58213/);
    assert.equal(verdict(user, 'I am sorry to hear that.', 'Can you pick it up on Thursday?', 'Thursday morning is booked for order 58213, and a confirmation email is on its way.'), undefined);
  });

  it('arithmetic is not a contradiction', () => {
    // A projection from the user's age, and a product of their figure.
    assert.equal(verdict(INTRO, FIRST, 'And later on?', 'In 10 years you will be 44, and your savings will have had a decade to grow.'), undefined);
    const essentials = 'My essentials are closer to $2,400 a month because rent here is high.';
    assert.equal(verdict(essentials, 'Noted.', 'Should I aim for three months first?', 'Yes: with your $2,400 of essentials, three months of them is about $7,200 in savings.'), undefined);
    assert.equal(verdict(essentials, 'Noted.', 'Should I aim for three months first?', 'Yes: three months of your essentials comes to about $7,200 in savings.'), undefined);
    assert.match(verdict(essentials, 'Noted.', 'Should I aim for three months first?', 'Yes: three months of your essentials comes to about $7,300 in savings.') ?? '', /gives \$7,300 where they said \$2,400/);
    // A remainder: what is left after the user's figures.
    assert.equal(verdict('My aunt left me $120,000. I have $15,000 of student loans.', 'Paying the loans is reasonable.', 'And after that?', 'After paying the loans, you would have about $105,000 left for your goals.'), undefined);
  });

  it("a hypothetical figure, a range, and someone else's figure are not contradictions", () => {
    assert.equal(verdict(INTRO, FIRST, 'And with a raise?', 'If you earned $90,000 instead, your salary could cover a larger share.'), undefined);
    assert.match(verdict(INTRO, FIRST, 'And with a raise?', 'Since you earn $90,000, your salary could cover a larger share.') ?? '', /gives \$90,000 where they said \$85,000/);
    assert.equal(verdict('I moved out and my landlord still has my $1,800 deposit.', 'You can file a claim.', 'What does it cost?', 'You pay a filing fee, often $30 to $75, and the landlord is served with notice.'), undefined);
    assert.equal(verdict(INTRO, FIRST, 'My husband wants to save too.', 'If your husband earns $62,000, he could put 10 percent of his income into his plan as well.'), undefined);
    assert.equal(verdict(INTRO, FIRST, 'My husband wants to save too.', 'With your husband earning $62,000, he could put 10 percent of his income into his plan as well.'), undefined);
  });

  it('a figure of the same unit about something else is not one', () => {
    // The user's "2 hours ago" is a point in time; "the next 48 hours" is advice.
    const user = 'I twisted my ankle playing basketball about 2 hours ago and it is swollen.';
    assert.equal(verdict(user, 'It sounds like a sprain.', 'What should I do now?', 'For the next 48 hours, rest your ankle and keep it raised when you sit.'), undefined);
    // The sentence gives the user's own figure beside another one.
    const tenure = 'I have worked here 14 months and want parental leave.';
    assert.equal(verdict(tenure, 'Congratulations.', 'Am I eligible?', 'With 14 months of service, you meet the 12 month minimum for the policy.'), undefined);
  });

  it('a relative renamed, and not when the answer still uses the name', () => {
    const user = 'My daughter Emma is 3 and we want to save for her college.';
    assert.match(verdict(user, 'A 529 plan is a good start.', 'What if she does not go?', 'You could put up to $35,000 into a Roth IRA for Laura under recent rules.') ?? '', /calls their daughter “Laura”, not “Emma”/);
    assert.equal(verdict(user, 'A 529 plan is a good start.', 'What if she does not go?', 'You could put up to $35,000 into a Roth IRA for Emma under recent rules.'), undefined);
  });
});
