import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../domain/chat';
import { DeltaCoalescer } from './delta-coalescer';

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('DeltaCoalescer', () => {
  it('without a window, merges a burst of deltas, keeps paced ones apart, and never reorders', async () => {
    const out: RunEvent[] = [];
    const coalescer = new DeltaCoalescer((event) => out.push(event));
    coalescer.push({ type: 'text.delta', text: 'The first text goes out at once. ' });
    expect(out).toHaveLength(1);
    coalescer.push({ type: 'text.delta', text: 'Hel' });
    coalescer.push({ type: 'text.delta', text: 'lo' });
    coalescer.push({ type: 'reasoning.delta', text: 'thinking' });
    coalescer.push({ type: 'text.delta', text: ',' });
    await turn();
    coalescer.push({ type: 'text.delta', text: ' world' });
    await turn();
    expect(out).toEqual([
      { type: 'text.delta', text: 'The first text goes out at once. ' },
      { type: 'text.delta', text: 'Hello' },
      { type: 'reasoning.delta', text: 'thinking' },
      { type: 'text.delta', text: ',' },
      { type: 'text.delta', text: ' world' },
    ]);
  });

  it('with a window, sends the first text at once and the rest at most once per window, losing nothing', async () => {
    const out: Array<RunEvent & { at: number }> = [];
    const started = performance.now();
    const coalescer = new DeltaCoalescer((event) => out.push({ ...event, at: performance.now() - started }), 40);
    const tokens = Array.from({ length: 12 }, (_, i) => `t${i} `);
    for (const text of tokens) {
      coalescer.push({ type: 'text.delta', text });
      await sleep(10);
    }
    coalescer.push({ type: 'run.cancelled', partial: null });

    expect(out[0]).toMatchObject({ type: 'text.delta', text: 't0 ' });
    expect(out[0]?.at).toBeLessThan(5);
    const texts = out.filter((event) => event.type === 'text.delta');
    // 120 ms of tokens 10 ms apart in 40 ms windows: the first alone, then a few merged events.
    expect(texts.length).toBeGreaterThanOrEqual(3);
    expect(texts.length).toBeLessThanOrEqual(6);
    // Between the first merged event and the one the end of the run flushes, a window apart at least.
    for (let i = 2; i < texts.length - 1; i += 1) {
      expect((texts[i]?.at ?? 0) - (texts[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(35);
    }
    expect(texts.map((event) => ('text' in event ? event.text : '')).join('')).toBe(tokens.join(''));
    expect(out.at(-1)?.type).toBe('run.cancelled');
  });
});
