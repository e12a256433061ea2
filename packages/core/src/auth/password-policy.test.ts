import { describe, expect, it } from 'vitest';
import { weakPasswordReason } from './password-policy';

describe('weakPasswordReason', () => {
  it.each([
    ['password123', 'ada@example.com'],
    ['aaaaaaaaaa', 'ada@example.com'],
    ['lovelace-rocks', 'lovelace@example.com'],
  ])('refuses %s', (password, email) => {
    expect(weakPasswordReason(password, email)).toEqual(expect.any(String));
  });

  it('accepts an ordinary passphrase', () => {
    expect(weakPasswordReason('correct horse battery', 'ada@example.com')).toBeNull();
  });
});
