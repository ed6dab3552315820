import { strict as assert } from 'node:assert';
import { flagReason, scoreConversation, type QualityReport } from '../../../src/core/quality';
import { GOOD } from '../../fixtures/conversations';

// One crafted, realistic example per defect kind: flagged, a finding on the right turn, the reason
// naming it; and a clean counterpart that is not flagged.

type Turn = { role: 'user' | 'assistant'; content: string };
const clean = (): Turn[] => GOOD.turns.map((t) => ({ ...t }));
const withTurn = (at: number, content: string): Turn[] => clean().map((t, i) => (i === at ? { ...t, content } : t));
const score = (turns: Turn[]) => scoreConversation({ turns });

function assertDefect(r: QualityReport, turn: number, words: RegExp): void {
  const reason = flagReason(r, undefined);
  assert.ok(reason, `not flagged: overall ${r.overall}`);
  assert.match(reason, words, reason);
  assert.ok(
    r.findings.some((f) => f.turn === turn && words.test(f.message)),
    `no finding on turn ${turn + 1} matching ${words}: ${JSON.stringify(r.findings.map((f) => [f.turn, f.message]))}`,
  );
}

function assertClean(turns: Turn[]): void {
  const r = score(turns);
  assert.equal(flagReason(r, undefined), undefined, JSON.stringify(r.findings));
}

describe('quality defects', () => {
  it('the clean conversation has none', () => {
    assertClean(clean());
  });

  it('truncated ending: the last answer cut mid-sentence', () => {
    const cut = 'That is a sound plan. Rebalancing slowly toward bonds and building your savings cushion gives you a steadier path to retirement at sixty-two. It would be worth reviewing the plan once a year, or after any big change in your health';
    const r = score(withTurn(11, cut));
    assertDefect(r, 11, /turn 12 \(assistant\) is cut off mid-sentence/);
    // A last answer that ends on a question mark or a closing quote is finished.
    assertClean(withTurn(11, `${GOOD.turns[11]!.content.slice(0, -1)}, as the saying goes: “slow and steady.”`));
  });

  it('repetition: an answer said again, nearly, and a looping second half', () => {
    const again = score(withTurn(7, GOOD.turns[3]!.content.replace('aggressive', 'risky')));
    assertDefect(again, 7, /turn 8 \(assistant\) nearly repeats turn 4/);
    const loop = clean();
    for (let i = 6; i < 12; i++) loop[i] = { ...loop[i - 6]! };
    assertDefect(score(loop), 6, /turn 7 \(user\) repeats turn 1 word for word/);
    const twice = GOOD.turns[5]!.content.split('. ').slice(0, 2).join('. ') + '.';
    assertDefect(score(withTurn(5, `${twice} ${twice}`)), 5, /repeats itself within the turn/);
    // Echoing a phrase from the user is not repetition.
    assertClean(clean());
  });

  it('an answer from another conversation', () => {
    const stray = 'Error E-402 means the license key has reached its activation limit. Each seat can be active on two devices at once, so an old laptop and a new one use both. In the admin console, open Licenses, find the user, and deactivate the device that was recycled so the seat frees up immediately.';
    assertDefect(score(withTurn(5, stray)), 5, /turn 6 \(assistant\) does not answer turn 5 \(user\)/);
  });

  it('role breaking and refusals, but not an adviser saying what they cannot tell yet', () => {
    assertDefect(score(withTurn(5, `As an AI language model, I cannot predict markets, but ${GOOD.turns[5]!.content.toLowerCase()}`)), 5, /turn 6 \(assistant\) breaks role: “As an AI language model/);
    assertDefect(score(withTurn(3, "I'm sorry, but I cannot provide personalized financial advice. Please speak with a licensed professional about your allocation and your retirement savings in stock index funds.")), 3, /breaks role: “I'm sorry, but I cannot”/);
    assertDefect(score(withTurn(7, `${GOOD.turns[7]!.content} This is not financial advice.`)), 7, /breaks role: “This is not financial advice”/);
    assertClean(withTurn(7, `${GOOD.turns[7]!.content} I can't provide exact figures without your statements, though, so treat forty thousand as a rough guess.`));
  });

  it('template residue', () => {
    assertDefect(score(withTurn(2, `I am {{age}} and hoping to retire at sixty-two. Most of it is in stock index funds, maybe eighty percent.`)), 2, /turn 3 \(user\) holds template residue: “\{\{age\}\}”/);
    assertDefect(score(withTurn(9, `Thanks, [Client Name]. ${GOOD.turns[9]!.content}`)), 9, /template residue: “\[Client Name\]”/);
    assertDefect(score(withTurn(1, `Hello <<persona>>. ${GOOD.turns[1]!.content}`)), 1, /template residue: “<<persona>>”/);
    // Brackets and braces in ordinary prose are not placeholders.
    assertClean(withTurn(9, `${GOOD.turns[9]!.content.slice(0, -1)} (a year of cushion [see above] is a good target).`));
  });

  it('meta commentary and speaker labels', () => {
    assertDefect(score(withTurn(11, `${GOOD.turns[11]!.content}\n\nI hope this conversation meets your requirements!`)), 11, /turn 12 \(assistant\) holds meta commentary: “I hope this conversation meets your requirements/);
    assertDefect(score(withTurn(1, `Here is the conversation between the client and the advisor:\n\n${GOOD.turns[1]!.content}`)), 1, /meta commentary: “Here is the conversation/);
    assertDefect(score(withTurn(5, `${GOOD.turns[5]!.content}\n\nClient: That sounds reasonable.`)), 5, /meta commentary: “Client:/);
    // A colon in prose is not a speaker label.
    assertClean(withTurn(5, GOOD.turns[5]!.content.replace('A common starting point', 'The usual answer: a common starting point')));
  });

  it('swapped speakers', () => {
    const turns = clean();
    for (const i of [4, 6]) [turns[i]!.content, turns[i + 1]!.content] = [turns[i + 1]!.content, turns[i]!.content];
    assertDefect(score(turns), 4, /turn 5 \(user\) reads like the assistant, and turn 6 like the user: swapped speakers/);
  });

  it('incoherent text: shuffled words, random words, broken sentences', () => {
    const shuffled = 'bonds percent that each forty drop sixty. you over quarter, your keeps the stocks starting point. for that year move common stock a exposure shifting sixty percent the and the bounce of. mention while retirement lowering the risk steadily.';
    assertDefect(score(withTurn(5, shuffled)), 5, /turn 6 \(assistant\) is incoherent/);
    const random = 'Harbor quantum velvet orchard lantern whisper cobalt meadow ledger pivot glacier saffron tunnel marble falcon spindle horizon pepper compass thistle canyon ribbon anchor mosaic.';
    assertDefect(score(withTurn(5, random)), 5, /is incoherent: words without sentences/);
    const broken = 'A common starting point for. Sixty percent stocks and the. You could move toward that over the. Shifting about five percent each. That keeps most of your stock exposure for the bounce you mention while steadily lowering the.';
    assertDefect(score(withTurn(5, broken)), 5, /is incoherent: broken or shuffled sentences/);
  });

  it('a switch of language mid-conversation', () => {
    const spanish = 'Claro, entiendo tu preocupación. Un punto de partida común para alguien a siete años de la jubilación es sesenta por ciento en acciones y cuarenta por ciento en bonos, y puedes llegar a eso poco a poco durante el próximo año.';
    assertDefect(score(withTurn(5, spanish)), 5, /turn 6 \(assistant\) switches language/);
    // A foreign word or a quoted phrase does not switch the language.
    assertClean(withTurn(5, `${GOOD.turns[5]!.content.slice(0, -1)}, a little like the French say, petit à petit.`));
  });

  it('a contradiction of what the user said', () => {
    const turns = clean();
    turns[0] = { role: 'user', content: 'My daughter Emma says my portfolio dropped twelve percent this month and I am starting to panic about my retirement savings. Should I sell everything?' };
    turns[3] = { role: 'assistant', content: `${GOOD.turns[3]!.content} Your daughter Sophie may also be worth including in these conversations.` };
    assertDefect(score(turns), 3, /turn 4 \(assistant\) contradicts the user: calls their daughter “Sophie”, not “Emma”/);
    const figures = withTurn(9, 'You mentioned 45000 a year in expenses, so six months is twenty-two thousand and your thirty thousand already covers that. You could add to savings gradually from your income rather than selling stocks now.');
    figures[8] = { role: 'user', content: 'My expenses are closer to 50000 a year, so maybe I need a bit more cash saved up.' };
    assertDefect(score(figures), 9, /contradicts the user: gives their figure as 45000/);
    // A figure the adviser works out is not a contradiction.
    const derived = withTurn(9, 'At 50000 a year, six months of expenses is 25000, so your 30000 already covers that. You could add to savings gradually from your income rather than selling stocks now, so the extra cash builds up.');
    derived[8] = { role: 'user', content: 'My expenses are closer to 50000 a year, so maybe I need a bit more cash saved up.' };
    assertClean(derived);
  });

  it('an ending with no close', () => {
    assertDefect(score(clean().slice(0, 11)), 10, /turn 11 \(user\) ends the conversation with no answer: no close/);
    assertDefect(score(clean().slice(0, 8)), 7, /turn 8 \(assistant\) ends the conversation mid-topic: no close/);
  });

  it('short chit-chat is not held to the long-form checks', () => {
    const chat: Turn[] = [
      { role: 'user', content: 'hi there, how is your day going' },
      { role: 'assistant', content: 'pretty good! i just got back from a walk with my dog' },
      { role: 'user', content: 'nice, what kind of dog do you have?' },
      { role: 'assistant', content: 'a golden retriever. she loves the park' },
    ];
    const r = scoreConversation({ turns: chat }, 'edge_case');
    assert.ok(!r.findings.some((f) => /no close|cut off|incoherent|swapped|does not answer/.test(f.message)), JSON.stringify(r.findings));
  });
});
