import {
  AuthApiError,
  AuthRetryableFetchError,
  AuthSessionMissingError,
  AuthUnknownError,
  AuthWeakPasswordError,
} from '@supabase/supabase-js';
import { describe, expect, it } from 'vitest';
import { appErrorFromGoTrue } from './gotrue-errors';

const api = (code: string, status = 400) => new AuthApiError(`GoTrue says ${code}`, status, code);

describe('appErrorFromGoTrue', () => {
  it.each([
    ['user_already_exists', 'EMAIL_TAKEN'],
    ['email_exists', 'EMAIL_TAKEN'],
    ['invalid_credentials', 'INVALID_CREDENTIALS'],
    ['email_not_confirmed', 'FORBIDDEN'],
    ['user_banned', 'FORBIDDEN'],
    ['signup_disabled', 'FORBIDDEN'],
    ['email_address_invalid', 'INVALID_INPUT'],
    ['over_request_rate_limit', 'RATE_LIMITED'],
    ['over_email_send_rate_limit', 'RATE_LIMITED'],
    ['refresh_token_already_used', 'SESSION_REVOKED'],
    ['refresh_token_not_found', 'UNAUTHENTICATED'],
    ['session_not_found', 'UNAUTHENTICATED'],
    ['session_expired', 'UNAUTHENTICATED'],
    ['bad_jwt', 'UNAUTHENTICATED'],
  ])('maps %s to %s, whatever the status, without GoTrue’s text', (code, appCode) => {
    for (const status of [400, 422]) {
      const mapped = appErrorFromGoTrue(api(code, status));
      expect(mapped.appCode).toBe(appCode);
      expect(mapped.message).not.toContain('GoTrue says');
    }
  });

  it('names the field for EMAIL_TAKEN and WEAK_PASSWORD, and a wait for RATE_LIMITED', () => {
    expect(appErrorFromGoTrue(api('user_already_exists')).data.fieldErrors?.email).toHaveLength(1);
    const leaked = appErrorFromGoTrue(new AuthWeakPasswordError('pwned', 422, ['pwned']));
    expect(leaked).toMatchObject({ appCode: 'WEAK_PASSWORD', message: expect.stringMatching(/breach/) });
    expect(leaked.data.fieldErrors?.password).toEqual([leaked.message]);
    expect(appErrorFromGoTrue(api('over_request_rate_limit', 429)).data.retryAfterSeconds).toBeGreaterThan(0);
  });

  it('tells an unreachable Supabase from a slow one and from a failing one', () => {
    expect(appErrorFromGoTrue(new AuthRetryableFetchError('fetch failed', 0))).toMatchObject({
      appCode: 'UPSTREAM_UNAVAILABLE',
      data: { retryable: true },
    });
    expect(appErrorFromGoTrue(new AuthRetryableFetchError('{}', 503)).appCode).toBe('UPSTREAM_UNAVAILABLE');
    expect(appErrorFromGoTrue(new AuthRetryableFetchError('{}', 504)).appCode).toBe('UPSTREAM_TIMEOUT');
    expect(appErrorFromGoTrue(api('unexpected_failure', 500))).toMatchObject({
      appCode: 'UPSTREAM_ERROR',
      data: { retryable: true },
    });
    expect(appErrorFromGoTrue(new AuthUnknownError('not JSON', null)).appCode).toBe('UPSTREAM_ERROR');
  });

  it('answers UPSTREAM_ERROR for a code it does not know, and keeps the original as the cause', () => {
    const original = api('captcha_failed');
    const mapped = appErrorFromGoTrue(original);
    expect(mapped).toMatchObject({ appCode: 'UPSTREAM_ERROR', data: { retryable: false } });
    expect(mapped.cause).toBe(original);
  });

  it('reads a missing session as UNAUTHENTICATED', () => {
    expect(appErrorFromGoTrue(new AuthSessionMissingError()).appCode).toBe('UNAUTHENTICATED');
  });
});
