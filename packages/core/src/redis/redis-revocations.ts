import type { Redis } from 'ioredis';
import { LocalRevocations, type Revocation, type Revocations } from '../ports/revocations';

const CHANNEL = 'hearth:revocations';

/**
 * Revocations over Redis pub/sub. A message lost while Redis is away is covered by each process
 * asking the store again after a few seconds anyway (the caches' own recheck).
 */
export class RedisRevocations implements Revocations {
  private readonly local = new LocalRevocations();

  constructor(
    private readonly commands: Redis,
    subscriber: Redis,
  ) {
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== CHANNEL) return;
      const revocation = parseRevocation(message);
      if (revocation) this.local.publish(revocation);
    });
    subscriber.subscribe(CHANNEL).catch(() => {});
  }

  publish(revocation: Revocation): void {
    // Applied here at once; the echo from Redis applies it again, which changes nothing.
    this.local.publish(revocation);
    this.commands.publish(CHANNEL, JSON.stringify(revocation)).catch(() => {});
  }

  subscribe(listener: (revocation: Revocation) => void): void {
    this.local.subscribe(listener);
  }
}

function parseRevocation(message: string): Revocation | null {
  try {
    const value = JSON.parse(message) as Partial<Record<string, unknown>>;
    if (value.kind === 'session' && typeof value.sessionId === 'string' && typeof value.tokensExpireAt === 'number') {
      return { kind: 'session', sessionId: value.sessionId, tokensExpireAt: value.tokensExpireAt };
    }
    if (value.kind === 'account' && typeof value.userId === 'string') return { kind: 'account', userId: value.userId };
  } catch {
    // Not ours: another program publishing on the channel.
  }
  return null;
}
