import { describe, expect, it } from 'vitest';
import { ConversationStates } from './conversation-states';

describe('ConversationStates', () => {
  it('decides only for conversations it was told about, and frees one when its run ends', () => {
    const states = new ConversationStates(10);
    expect(states.claim('c1', 'alice', 'r1')).toBe('unknown');
    states.started('c1', 'alice', null);
    expect(states.claim('c1', 'bob', 'r1')).toBe('not_found');
    expect(states.claim('c1', 'alice', 'r1')).toBe('claimed');
    expect(states.claim('c1', 'alice', 'r2')).toBe('run_active');
    // The end of another run (an older one, say) does not free the conversation.
    states.ended('c1', 'r0');
    expect(states.claim('c1', 'alice', 'r2')).toBe('run_active');
    states.ended('c1', 'r1');
    expect(states.claim('c1', 'alice', 'r2')).toBe('claimed');
    states.forget('c1');
    expect(states.claim('c1', 'alice', 'r3')).toBe('unknown');
  });

  it('starts over past its size, which only sends decisions back to the database', () => {
    const states = new ConversationStates(2);
    states.started('c1', 'alice', null);
    states.started('c2', 'alice', null);
    states.started('c3', 'alice', null);
    expect(states.claim('c1', 'alice', 'r1')).toBe('unknown');
    expect(states.claim('c3', 'alice', 'r1')).toBe('claimed');
  });
});
