import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import { sharedWireForm, wireTransformer } from './wire-form';

describe('wireTransformer', () => {
  it('serialises a shared value once, whatever the number of responses sending it', () => {
    const event = sharedWireForm({ type: 'run.completed', at: new Date('2026-01-02T03:04:05Z') });
    const first = wireTransformer.output.serialize(event);
    expect(wireTransformer.output.serialize(event)).toBe(first);
    expect(superjson.deserialize(first)).toEqual(event);
  });

  it('serialises anything else afresh, as superjson does', () => {
    const value = { at: new Date('2026-01-02T03:04:05Z') };
    const first = wireTransformer.output.serialize(value);
    expect(first).toEqual(superjson.serialize(value));
    expect(wireTransformer.output.serialize(value)).not.toBe(first);
    expect(wireTransformer.output.serialize(null)).toEqual(superjson.serialize(null));
  });
});
