import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../domain/chat';
import { DeltaCoalescer } from './delta-coalescer';

describe('DeltaCoalescer', () => {
  it('merges a burst of deltas, keeps paced ones apart, and never reorders', async () => {
    const out: RunEvent[] = [];
    const coalescer = new DeltaCoalescer((event) => out.push(event));
    coalescer.push({ type: 'text.delta', text: 'The first text goes out at once. ' });
    expect(out).toHaveLength(1);
    coalescer.push({ type: 'text.delta', text: 'Hel' });
    coalescer.push({ type: 'text.delta', text: 'lo' });
    coalescer.push({ type: 'reasoning.delta', text: 'thinking' });
    coalescer.push({ type: 'text.delta', text: ',' });
    await new Promise((resolve) => setImmediate(resolve));
    coalescer.push({ type: 'text.delta', text: ' world' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(out).toEqual([
      { type: 'text.delta', text: 'The first text goes out at once. ' },
      { type: 'text.delta', text: 'Hello' },
      { type: 'reasoning.delta', text: 'thinking' },
      { type: 'text.delta', text: ',' },
      { type: 'text.delta', text: ' world' },
    ]);
  });
});
