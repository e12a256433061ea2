import { describe, expect, it } from 'vitest';
import { countTokens, truncateToTokens } from './token-count';

describe('token counting', () => {
  it('counts text that spells a special token as plain text instead of throwing', () => {
    expect(countTokens('a <|endoftext|> b')).toBeGreaterThan(3);
  });

  it('truncates a text to a number of tokens, keeping its start', () => {
    const text = 'one two three four five six';
    expect(truncateToTokens(text, 100)).toBe(text);
    expect(truncateToTokens(text, 2)).toBe('one two');
    expect(countTokens(truncateToTokens(text, 4))).toBe(4);
    expect(truncateToTokens(text, 0)).toBe('');
  });
});
