const PG_UNIQUE_VIOLATION = '23505';

/** Whether a (possibly wrapped) driver error is a unique violation, optionally of one constraint. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  let current = error;
  while (current && typeof current === 'object') {
    const { code, constraint: violated, constraint_name: violatedName } = current as Record<string, unknown>;
    if (code === PG_UNIQUE_VIOLATION) return !constraint || violated === constraint || violatedName === constraint;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
