import { formatUsd } from './format';

interface ErrorLike {
  message?: unknown;
  data?: { appCode?: unknown; remainingUsd?: unknown; retryAfterSeconds?: unknown; fieldErrors?: unknown } | null;
  appCode?: unknown;
  remainingUsd?: unknown;
}

function appCodeOf(error: unknown): string | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const e = error as ErrorLike;
  const code = e.data?.appCode ?? e.appCode;
  return typeof code === 'string' ? code : undefined;
}

function numberIn(error: unknown, key: 'remainingUsd' | 'retryAfterSeconds'): number | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const e = error as ErrorLike;
  const value = e.data?.[key] ?? (key === 'remainingUsd' ? e.remainingUsd : undefined);
  return typeof value === 'number' ? value : undefined;
}

/** What a person should read for an error from the API: the cause in plain words and what to do. */
export function describeError(error: unknown, known: { remainingUsd?: number | null | undefined } = {}): string {
  const code = appCodeOf(error);
  switch (code) {
    case 'BUDGET_EXCEEDED': {
      // A run stopped mid-answer tells only its appCode: what is left comes from the budget then.
      const left = numberIn(error, 'remainingUsd') ?? known.remainingUsd ?? undefined;
      const remaining = left === undefined ? '' : ` ${formatUsd(left)} left.`;
      return `Budget exceeded:${remaining} Raise the limit under Usage, or wait for the next period.`;
    }
    case 'BUDGET_CEILING':
      return 'That limit is above the ceiling the operator set.';
    case 'INVALID_CREDENTIALS':
      return 'Wrong email or password.';
    case 'EMAIL_TAKEN':
      return 'That email already has an account: log in instead.';
    case 'WEAK_PASSWORD':
      return 'Choose a longer password (at least 8 characters).';
    case 'RATE_LIMITED': {
      const wait = numberIn(error, 'retryAfterSeconds');
      return wait ? `Too many attempts: try again in ${wait} s.` : 'Too many attempts: try again shortly.';
    }
    case 'RUN_ACTIVE':
      return 'An answer is still being written in this conversation.';
    case 'MEMORY_LIMIT':
      return 'That is longer than the block allows.';
    case 'INVALID_INPUT': {
      // An attachment's refusal says which file and why (its type, its size, a model without vision).
      const fieldErrors = (error as ErrorLike).data?.fieldErrors as Record<string, unknown> | undefined;
      const attachment = Array.isArray(fieldErrors?.attachments) ? fieldErrors.attachments[0] : undefined;
      return typeof attachment === 'string' ? attachment : 'Please check what you entered.';
    }
    case 'UNAUTHENTICATED':
    case 'SESSION_REVOKED':
      return 'Your session ended: log in again.';
    case 'UPSTREAM_UNAVAILABLE':
    case 'UPSTREAM_TIMEOUT':
    case 'UPSTREAM_ERROR':
      return 'The model is not answering right now: try again in a moment.';
    default:
      if (error instanceof TypeError) return 'Cannot reach the server: check your connection.';
      return 'Something went wrong: try again.';
  }
}
