import { AppError } from '@hearth/core';
import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatError, toTRPCError } from './errors';

const shape = (code: TRPCError['code'], httpStatus: number) => ({
  message: 'raw',
  code: -32000,
  data: { code, httpStatus, path: 'auth.login' },
});

describe('formatError', () => {
  it('passes an AppError through with its appCode and data', () => {
    const error = toTRPCError(new AppError('RATE_LIMITED', 'Slow down.', { retryAfterSeconds: 30 }));
    expect(error.code).toBe('TOO_MANY_REQUESTS');
    const formatted = formatError({ error, shape: shape('TOO_MANY_REQUESTS', 429), exposeErrorDetails: false });
    expect(formatted.message).toBe('Slow down.');
    expect(formatted.data).toMatchObject({ appCode: 'RATE_LIMITED', retryAfterSeconds: 30, httpStatus: 429 });
    expect(formatted.data.stack).toBeUndefined();
  });

  it("turns zod's issues into field errors", () => {
    const parsed = z.object({ email: z.email() }).safeParse({ email: 'nope' });
    const error = new TRPCError({ code: 'BAD_REQUEST', cause: parsed.error });
    const formatted = formatError({ error, shape: shape('BAD_REQUEST', 400), exposeErrorDetails: false });
    expect(formatted.data.appCode).toBe('INVALID_INPUT');
    expect(formatted.data.fieldErrors?.email?.length).toBe(1);
  });

  it('hides the text of unexpected errors, which may hold SQL or secrets', () => {
    const error = new TRPCError({
      code: 'INTERNAL_SERVER_ERROR',
      message: 'duplicate key value violates unique constraint "users_email_unique"',
      cause: new Error('select * from users where password_hash = $1'),
    });
    const formatted = formatError({ error, shape: shape('INTERNAL_SERVER_ERROR', 500), exposeErrorDetails: false });
    expect(formatted.data.appCode).toBe('INTERNAL');
    expect(JSON.stringify(formatted)).not.toMatch(/users|select|password_hash/);
  });

  it('shows the stack in development only', () => {
    const error = new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'boom' });
    expect(
      formatError({ error, shape: shape('INTERNAL_SERVER_ERROR', 500), exposeErrorDetails: true }).data.stack,
    ).toBeDefined();
  });
});
