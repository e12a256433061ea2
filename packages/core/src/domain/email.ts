/**
 * One spelling per mailbox, so that `Ada@Example.com ` and `ada@example.com` are the same account.
 * Lower-casing the local part is what every major provider does in practice.
 */
export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFKC').toLowerCase();
}
