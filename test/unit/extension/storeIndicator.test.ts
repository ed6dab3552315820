import { strict as assert } from 'node:assert';
import { storeIndicator } from '../../../src/extension/storeIndicator';

const SERVER = 'bob@db.example:5432/team';

describe('the store status bar item’s words', () => {
  it('are none on the workspace database: the item is hidden', () => {
    assert.equal(storeIndicator({ store: 'workspace' }), undefined);
  });

  it('name the team database by describeUrl’s words and the listener’s state', () => {
    assert.deepEqual(
      (['connecting', 'following', 'reconnecting', 'unreachable'] as const).map((listener) => storeIndicator({ store: 'postgresql', listener, server: SERVER })?.text),
      ['$(sync~spin) Team: connecting…', '$(database) Team: following', '$(sync~spin) Team: reconnecting…', '$(warning) Team: unreachable'],
    );
    assert.match(storeIndicator({ store: 'postgresql', listener: 'following', server: SERVER })!.tooltip, /team database bob@db\.example:5432\/team and follow/);
  });

  it('give the reason once, without repeating the server the driver’s message starts with', () => {
    const tooltip = storeIndicator({ store: 'postgresql', listener: 'unreachable', server: SERVER, reason: `${SERVER}: connection refused`, retrying: true })!.tooltip;
    assert.equal(tooltip.split(SERVER).length, 2, tooltip);
    assert.match(tooltip, /cannot be reached: connection refused\. Trying again by itself\./);
    const malformed = storeIndicator({ store: 'postgresql', listener: 'unreachable', reason: 'the user setting promptloom.database.url is not a postgresql:// URL' })!.tooltip;
    assert.match(malformed, /^The team database cannot be reached: the user setting/);
    assert.match(malformed, /Tried again on the next read, or when clicked\./);
  });
});
