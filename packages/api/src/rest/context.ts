import type { AuthenticatedUser, ClientInfo } from '@hearth/core';
import { AppError } from '@hearth/core';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { ApiDeps, ApiLogger } from '../context';

export interface RestOptions {
  deps: ApiDeps;
  logger: ApiLogger;
  /** The client's address, resolved as for tRPC (trusted proxies only). */
  clientIp: (c: Context) => string;
  maxBodyBytes: number;
  /** POST /chat/message's limit: it carries attachments in base64. */
  maxSendBodyBytes?: number;
  exposeErrorDetails: boolean;
}

export type RestEnv = { Variables: { user: AuthenticatedUser; accessToken: string } };

export function clientInfo(options: RestOptions, c: Context): ClientInfo {
  return { ip: options.clientIp(c), userAgent: c.req.header('user-agent') ?? null };
}

/** The same check as tRPC's authedProcedure: a Bearer token the auth provider trusts. */
export const requireUser = (deps: ApiDeps) =>
  createMiddleware<RestEnv>(async (c, next) => {
    const header = c.req.header('authorization');
    const token = header?.toLowerCase().startsWith('bearer ') ? header.slice(7).trim() : '';
    if (!token) throw new AppError('UNAUTHENTICATED', 'Log in first: no access token was sent.');
    c.set('user', await deps.auth.authenticate(token));
    c.set('accessToken', token);
    await next();
  });

/** Declared on every route that needs a signed-in caller. */
export const bearerSecurity = [{ bearerAuth: [] }];

export const jsonResponse = <T>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
export const jsonBody = <T>(schema: T, required = true) => ({
  required,
  content: { 'application/json': { schema } },
});
