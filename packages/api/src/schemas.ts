import { z } from 'zod';

/** The contract's input rules (spec/api.md, "Sizes"). */
export const email = z
  .string()
  .trim()
  .pipe(z.email('Enter a valid email address.').max(254, 'An email address has at most 254 characters.'));

export const password = z
  .string()
  .min(8, 'A password has at least 8 characters.')
  .max(128, 'A password has at most 128 characters.');

export const displayName = z
  .string()
  .trim()
  .min(1, 'A display name has at least 1 character.')
  .max(80, 'A display name has at most 80 characters.');

export const registerInput = z.object({ email, password, displayName: displayName.optional() });
export const loginInput = z.object({
  email,
  // Login accepts any length up to the maximum: a rule added later must not lock out old accounts.
  password: z.string().min(1, 'Enter your password.').max(128, 'A password has at most 128 characters.'),
});
export const refreshInput = z.object({ refreshToken: z.string().min(1).max(512) });
export const emptyInput = z.object({}).optional();
export const updateProfileInput = z.object({ displayName: displayName.nullable() });
