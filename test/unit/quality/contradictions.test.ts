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

  it('a percentage names what it is the rate of: "0% for 18 months" is "the 0% period"', () => {
    const user = 'My cards charge 24%, 19% and 27%. Would a balance transfer card with 0% for 18 months make sense?';
    const answer = (rate: string) => `Good. Keep paying automatically, and note the date the ${rate} period ends in your calendar.`;
    assert.match(verdict(user, 'It can, if the numbers work.', 'I will apply for it.', answer('3%')) ?? '', /gives 3% where they said 0%/);
    assert.equal(verdict(user, 'It can, if the numbers work.', 'I will apply for it.', answer('0%')), undefined);
  });

  it('an amount or a percentage is one the user gave only with its sign', () => {
    // The user's "4 kids" does not give "4 percent".
    const user = 'I earn $85,000, have 4 kids, and put 6 percent of my salary into my 401(k).';
    assert.match(verdict(user, 'That is a solid start.', 'Should I raise it?', 'Since you put 4 percent of your salary in, raising it to the match is worth it.') ?? '', /gives 4 where they said 6/);
    assert.equal(verdict(user, 'That is a solid start.', 'Should I raise it?', 'Since you put 6 percent of your salary in, raising it to the match is worth it.'), undefined);
    // A bare number may be either: "85,000 a year" is the "$85,000" of the answer.
    assert.equal(verdict('I earn 85,000 a year, and my salary goes up by $2,000 each spring.', 'Good.', 'Can I save more?', 'Your $85,000 salary leaves room for it.'), undefined);
  });

  it('a percentage an answer gave for something else does not excuse it', () => {
    const user = 'We have saved for a house. Is it worth waiting until our equity can reach 20 percent?';
    const first = 'Stocks can fall 20 or 30 percent in a bad year, so keep the savings in cash.';
    assert.match(verdict(user, first, 'And the mortgage insurance?', 'It goes away once your equity reaches 30 percent of the price.') ?? '', /gives 30 where they said 20/);
    assert.equal(verdict(user, first, 'And the mortgage insurance?', 'It goes away once your equity reaches 20 percent of the price.'), undefined);
  });

  it('clean advice full of figures: a total of figures given together, a rule of thumb, a step worked out a sentence before', () => {
    // The user's minimums, given together, add up to $200; $250 they do not.
    const cards = 'I can pay $500 a month in all. Minimums are $120, $55 and $25.';
    const minimums = (total: string) => `Your minimums add up to ${total}, which puts $300 toward the 24.9% card.`;
    assert.equal(verdict('I have three credit cards.', 'Let us plan the payments.', cards, minimums('$200')), undefined);
    assert.match(verdict('I have three credit cards.', 'Let us plan the payments.', cards, minimums('$240')) ?? '', /gives \$240 where they said \$120/);
    // "The 4% rule" names a rule, not the user's 12%; "a 4% rate" of theirs would restate it.
    const saver = 'I am 45 with $310,000 saved, and I contribute 12% of my $95,000 salary.';
    assert.equal(verdict(saver, 'You are on track.', 'Is it enough to retire at 62?', 'Using the 4% rule, $1.14 million supports about $45,600 a year of withdrawals.'), undefined);
    assert.match(verdict(saver, 'You are on track.', 'Is it enough to retire at 62?', 'Using the 4% of your salary you contribute, that is $3,800 a year.') ?? '', /gives 4% where they said 12%/);
    // "The 22% bracket" names a bracket: not the one percentage the user gave (inflation), but their bracket if they gave one.
    const raise = (given: string) => `My salary went from $64,000 to $71,000 this year. ${given}`;
    const bracket = 'In the 22% bracket, putting $3,500 of it into your 401(k) would cost you about $2,730 after tax.';
    assert.equal(verdict(raise('Inflation was 3.2%.'), 'That is a real raise.', 'Should I save the extra?', bracket), undefined);
    assert.match(verdict(raise('I am in the 24% bracket.'), 'That is a real raise.', 'Should I save the extra?', bracket) ?? '', /gives 22% where they said 24%/);
    // A step the answer worked out in its sentence before: 2,100 - 1,300 = 800, 68,000 - 40,000 = 28,000.
    const budget = 'I follow the 50/30/20 budget on my $4,200 take-home. My rent is $1,300.';
    const needs = (left: string) => `Under 50/30/20, your needs budget is 50% of $4,200, or $2,100. Rent at $1,300 uses about 31% of your take-home, leaving ${left} for other needs.`;
    assert.equal(verdict(budget, needs('$800')), undefined);
    const business = 'My business had revenue of $180,000 and expenses of $112,000 last year. I pay myself $40,000 of it.';
    assert.equal(verdict(business, 'Your profit before your own pay was $68,000. After your $40,000 salary, the business kept $28,000, a margin of about 16%.'), undefined);
    // A factor the answer gave before, applied to the user's figures: 2/3 × 2 1/2 = 1 2/3, 1 1/2 × 2 1/2 = 3 3/4.
    const recipe = 'My recipe serves 4 and uses 2/3 cup of rice and 1 1/2 cups of water. I need to serve 10.';
    const scaled = (rice: string) => `Scaling from 4 to 10 servings is a factor of 2 1/2. You will need ${rice} cups of rice and 3 3/4 cups of water.`;
    assert.equal(verdict(recipe, scaled('1 2/3')), undefined);
    assert.match(verdict(recipe, scaled('1 1/3')) ?? '', /gives 1 1\/3 cup where they said 1 1\/2/);
    // The difference of two figures the user gave: 2,600 - 2,150 = 450.
    const house = 'We pay $2,150 rent and our lease ends August 31. A house would cost $2,600 a month including taxes.';
    const costs = (monthly: string) => `Buying would cost about ${monthly} more a month than your rent.`;
    assert.equal(verdict(house, costs('$450')), undefined);
    assert.match(verdict(house, costs('$650')) ?? '', /gives \$650 where they said/);
    // A figure said to be rounded, of a count the sentence names by its unit: $8,300 over the user's 26 paychecks is about $319.
    const hsa = 'I contribute $150 per paycheck to my HSA, 26 paychecks a year. The family limit is $8,300.';
    const maxed = (each: string) => `To hit $8,300, you would contribute about ${each} per paycheck.`;
    assert.equal(verdict(hsa, 'You have room to save more.', 'What if I max it out?', maxed('$319')), undefined);
    assert.match(verdict(hsa, 'You have room to save more.', 'What if I max it out?', maxed('$329')) ?? '', /gives \$329 where they said \$150/);
  });

  it('arithmetic is only what the sentence states', () => {
    // 30 is 10 + 20, and 10 times the 3 years, but nothing here adds or multiplies them: the
    // user's 20 percent is restated as 30.
    const user = 'We want to buy in about 3 years and have saved 10 percent of the price. Is it worth waiting to reach 20 percent?';
    const answer = (target: string) => `Many buyers put 10 percent down and ask for the insurance to be removed once their equity reaches ${target} percent.`;
    assert.match(verdict(user, 'It depends on prices.', 'What do most people do?', answer('30')) ?? '', /gives 30 where they said 20/);
    assert.equal(verdict(user, 'It depends on prices.', 'What do most people do?', answer('20')), undefined);
    assert.equal(verdict(user, 'It depends on prices.', 'What if we save more?', 'With another 10 percent saved, your equity reaches 30 percent.'), undefined);
    // A product keeps the unit of an operand: two blocks of 12 months are not 24 weeks.
    const leave = 'My parental leave is 16 weeks.';
    assert.match(verdict(leave, 'Congratulations.', 'How can I take it?', 'Your leave of 24 weeks can be taken in two blocks within 12 months.') ?? '', /gives 24 week where they said 16/);
    assert.equal(verdict(leave, 'Congratulations.', 'How can I take it?', 'Your leave of 16 weeks can be taken in two blocks within 12 months.'), undefined);
  });

  it('durations the user split are parts of one total', () => {
    const user = 'Can I split the 16 weeks, for example 8 weeks in March and 8 weeks later in the summer?';
    const answer = (total: number) => `Yes, the policy allows up to two blocks, as long as all ${total} weeks are taken within 12 months of the birth.`;
    assert.match(verdict('How much parental leave do I get?', 'You can take up to 16 weeks.', user, answer(24)) ?? '', /gives 24 week where they said 16/);
    assert.equal(verdict('How much parental leave do I get?', 'You can take up to 16 weeks.', user, answer(16)), undefined);
  });

  it('fractions and mixed numbers are values', () => {
    const user = 'Okay, 17/12. His worksheet says to write it as a mixed number. How do we do that?';
    assert.match(verdict(user, 'Divide the top by the bottom.', 'And then?', 'He can write it as 1 5/18 on the worksheet.') ?? '', /gives 1 5\/18 where they said 17\/12/);
    assert.equal(verdict(user, 'Divide the top by the bottom.', 'And then?', 'He can write it as 1 5/12 on the worksheet.'), undefined);
    assert.equal(verdict(user, 'Divide the top by the bottom.', 'And then?', 'He can write it as 1 and 5/12, the same as 17/12.'), undefined);
    // Examples are not restated facts.
    assert.equal(verdict(user, 'Divide the top by the bottom.', 'And then?', 'Next, let him try harder ones, like 5/6 plus 4/9.'), undefined);
    // A fraction of something is a share of it: an equal fraction restates it.
    const course = 'I have finished 3/4 of the course and the exam is next month.';
    assert.match(verdict(course, 'Well done.', 'How should I revise?', 'Since you have finished 2/3 of the course, revise the rest first.') ?? '', /gives 2\/3 share where they said 3\/4/);
    assert.equal(verdict(course, 'Well done.', 'How should I revise?', 'Since you have finished 6/8 of the course, revise the rest first.'), undefined);
  });

  it('fractions in words and digits are operands', () => {
    const salary = 'My salary is $90,000 and I am looking for a flat.';
    assert.equal(verdict(salary, 'Where are you looking?', 'In the city. How much rent can I afford?', 'A third of your salary, $30,000 a year, is a fair cap for rent.'), undefined);
    assert.match(verdict(salary, 'Where are you looking?', 'In the city. How much rent can I afford?', 'A third of your salary, $35,000 a year, is a fair cap for rent.') ?? '', /gives \$35,000 where they said \$90,000/);
    const rent = 'My rent is $2,400 a month and my roommate is moving out.';
    assert.equal(verdict(rent, 'That is a big change.', 'How should we split it?', '3/4 of your rent comes to $1,800 for the larger room.'), undefined);
    assert.equal(verdict(rent, 'That is a big change.', 'How should we split it?', 'Three quarters of your rent comes to $1,800 for the larger room.'), undefined);
  });

  it('a relative renamed, and not when the answer still uses the name', () => {
    const user = 'My daughter Emma is 3 and we want to save for her college.';
    assert.match(verdict(user, 'A 529 plan is a good start.', 'What if she does not go?', 'You could put up to $35,000 into a Roth IRA for Laura under recent rules.') ?? '', /calls their daughter “Laura”, not “Emma”/);
    assert.equal(verdict(user, 'A 529 plan is a good start.', 'What if she does not go?', 'You could put up to $35,000 into a Roth IRA for Emma under recent rules.'), undefined);
  });
});
