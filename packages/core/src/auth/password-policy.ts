const COMMON_PASSWORDS = new Set([
  'password',
  'password1',
  'password123',
  '12345678',
  '123456789',
  '1234567890',
  'qwertyuiop',
  'qwerty123',
  'iloveyou',
  'letmein1',
  'abcdefgh',
  'abc12345',
  'welcome1',
  'sunshine',
  'football',
  'baseball',
  'superman',
  '11111111',
  '00000000',
  'trustno1',
]);

/**
 * Length limits are input rules (INVALID_INPUT); this catches passwords of a valid length that
 * are still trivially guessed. Returns the reason, or null when the password is acceptable.
 */
export function weakPasswordReason(password: string, email: string): string | null {
  const lowered = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lowered)) return 'This password is among the most common ones.';
  if (new Set(password).size < 3) return 'The password needs at least three different characters.';
  const localPart = email.split('@')[0] ?? '';
  if (localPart.length >= 4 && lowered.includes(localPart.toLowerCase())) {
    return 'The password must not contain the email address.';
  }
  return null;
}
