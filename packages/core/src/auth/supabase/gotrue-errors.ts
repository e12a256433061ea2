import {
  type AuthError,
  isAuthRetryableFetchError,
  isAuthSessionMissingError,
  isAuthWeakPasswordError,
} from '@supabase/supabase-js';
import { AppError } from '../../domain/errors';

const EMAIL_TAKEN = 'An account with this email already exists.';
const SESSION_ENDED = 'This session has ended. Log in again.';
/** GoTrue sends no Retry-After; its limits are counted over minutes. */
const RATE_LIMIT_RETRY_SECONDS = 60;

const WEAK_PASSWORD_BY_REASON: Record<string, string> = {
  pwned: 'This password has appeared in a data breach; choose another.',
  length: 'The password is too short.',
  characters: 'The password needs more kinds of characters (digits, lower and upper case, symbols).',
};

/**
 * Supabase Auth's refusal as one of the contract's errors, matched on GoTrue's error code (its
 * HTTP statuses vary between 400 and 422 for one condition). The message is Hearth's own: GoTrue's
 * text never reaches a client.
 */
export function appErrorFromGoTrue(error: AuthError): AppError {
  const options = { cause: error };
  if (isAuthRetryableFetchError(error)) {
    return error.status === 504
      ? new AppError('UPSTREAM_TIMEOUT', 'Supabase Auth did not answer in time.', { retryable: true }, options)
      : new AppError('UPSTREAM_UNAVAILABLE', 'Supabase Auth could not be reached.', { retryable: true }, options);
  }
  if (isAuthWeakPasswordError(error)) {
    const message = WEAK_PASSWORD_BY_REASON[error.reasons[0] ?? ''] ?? 'This password is too weak.';
    return new AppError('WEAK_PASSWORD', message, { fieldErrors: { password: [message] } }, options);
  }
  if (isAuthSessionMissingError(error)) return new AppError('UNAUTHENTICATED', SESSION_ENDED, {}, options);
  switch (error.code) {
    case 'user_already_exists':
    case 'email_exists':
      return new AppError('EMAIL_TAKEN', EMAIL_TAKEN, { fieldErrors: { email: [EMAIL_TAKEN] } }, options);
    case 'invalid_credentials':
      return new AppError('INVALID_CREDENTIALS', 'The email or password is incorrect.', {}, options);
    case 'email_not_confirmed':
      return new AppError(
        'FORBIDDEN',
        'Confirm your email address first (follow the link in the email you were sent), then log in.',
        {},
        options,
      );
    case 'user_banned':
      return new AppError('FORBIDDEN', 'This account is suspended.', {}, options);
    case 'signup_disabled':
    case 'email_provider_disabled':
      return new AppError('FORBIDDEN', 'New accounts cannot be created at the moment.', {}, options);
    case 'email_address_not_authorized':
    case 'email_address_invalid': {
      const message = 'This email address cannot be used here.';
      return new AppError('INVALID_INPUT', message, { fieldErrors: { email: [message] } }, options);
    }
    case 'over_request_rate_limit':
    case 'over_email_send_rate_limit':
      return new AppError(
        'RATE_LIMITED',
        `Too many attempts. Try again in ${RATE_LIMIT_RETRY_SECONDS} seconds.`,
        { retryAfterSeconds: RATE_LIMIT_RETRY_SECONDS },
        options,
      );
    case 'refresh_token_already_used':
      // GoTrue has just ended the session this token belonged to, as the contract asks for a reused token.
      return new AppError(
        'SESSION_REVOKED',
        'This refresh token was already used; the session has been ended.',
        {},
        options,
      );
    case 'refresh_token_not_found':
    case 'session_not_found':
    case 'session_expired':
    case 'user_not_found':
    case 'bad_jwt':
      return new AppError('UNAUTHENTICATED', SESSION_ENDED, {}, options);
  }
  const serverSide = (error.status ?? 500) >= 500;
  return new AppError(
    'UPSTREAM_ERROR',
    `Supabase Auth refused the request${error.status ? ` (HTTP ${error.status})` : ''}.`,
    { retryable: serverSide },
    options,
  );
}
