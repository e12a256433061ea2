import { describe, expect, it } from 'vitest';
import { TestClock } from '../../testing/test-clock';
import { AccessTokens } from './access-tokens';

const secret = new TextEncoder().encode('a-signing-key-that-is-long-enough-0123456789');
const claims = {
  userId: '00000000-0000-4000-8000-000000000001',
  email: 'ada@example.com',
  sessionId: '00000000-0000-4000-8000-0000000000a1',
};

describe('AccessTokens', () => {
  it('keeps refusing a token it once accepted after the token expires', async () => {
    const clock = new TestClock();
    const tokens = new AccessTokens({ secret, issuer: 'hearth', ttlSeconds: 60, clock });
    const { token } = await tokens.issue(claims);
    expect(await tokens.verify(token)).toEqual(claims);
    expect(await tokens.verify(token)).toEqual(claims);
    clock.advance(60_000);
    await expect(tokens.verify(token)).rejects.toMatchObject({ appCode: 'UNAUTHENTICATED' });
    await expect(tokens.verify(token)).rejects.toMatchObject({ appCode: 'UNAUTHENTICATED' });
  });

  it('does not accept a token signed with another key, even one that looks like a known token', async () => {
    const clock = new TestClock();
    const ours = new AccessTokens({ secret, issuer: 'hearth', ttlSeconds: 60, clock });
    const theirs = new AccessTokens({
      secret: new TextEncoder().encode('another-signing-key-that-is-long-enough-987654'),
      issuer: 'hearth',
      ttlSeconds: 60,
      clock,
    });
    const { token } = await theirs.issue(claims);
    await expect(ours.verify(token)).rejects.toMatchObject({ appCode: 'UNAUTHENTICATED' });
  });
});
