import { describe, expect, it } from 'vitest';
import { isAppError } from '../../domain/errors';
import { TestClock } from '../../testing';
import { AccessTokens } from './access-tokens';

const secret = new TextEncoder().encode('k'.repeat(32));
const claims = { userId: 'u-1', email: 'a@example.com', sessionId: 's-1' };

describe('AccessTokens', () => {
  it('round-trips its own tokens until they expire', async () => {
    const clock = new TestClock();
    const tokens = new AccessTokens({ secret, issuer: 'hearth', ttlSeconds: 900, clock });
    const { token, expiresAt } = await tokens.issue(claims);
    expect(expiresAt.getTime() - clock.now().getTime()).toBeLessThanOrEqual(900_000);
    expect(await tokens.verify(token)).toEqual(claims);
    clock.advance(901_000);
    await expect(tokens.verify(token)).rejects.toSatisfy((e) => isAppError(e, 'UNAUTHENTICATED'));
  });

  it("refuses another issuer's tokens", async () => {
    const clock = new TestClock();
    const ours = new AccessTokens({ secret, issuer: 'hearth', ttlSeconds: 900, clock });
    const theirs = new AccessTokens({ secret, issuer: 'elsewhere', ttlSeconds: 900, clock });
    const { token } = await theirs.issue(claims);
    await expect(ours.verify(token)).rejects.toSatisfy((e) => isAppError(e, 'UNAUTHENTICATED'));
  });

  it('will not sign with a short key', () => {
    expect(
      () => new AccessTokens({ secret: new Uint8Array(16), issuer: 'x', ttlSeconds: 1, clock: new TestClock() }),
    ).toThrow();
  });
});
