import { describe, expect, it } from 'vitest';
import { CleanupStack } from './cleanup-stack';

describe('CleanupStack', () => {
  it('runs the steps newest first, once', async () => {
    const order: string[] = [];
    const stack = new CleanupStack();
    stack.defer(() => void order.push('store'));
    stack.defer(async () => void order.push('redis'));
    await stack.run();
    await stack.run();
    expect(order).toEqual(['redis', 'store']);
  });

  it('runs every step when one fails, then rethrows the first failure', async () => {
    const order: string[] = [];
    const stack = new CleanupStack();
    stack.defer(() => void order.push('store'));
    stack.defer(() => {
      throw new Error('second');
    });
    stack.defer(() => {
      throw new Error('third');
    });
    await expect(stack.run()).rejects.toThrow('third');
    expect(order).toEqual(['store']);
  });
});
