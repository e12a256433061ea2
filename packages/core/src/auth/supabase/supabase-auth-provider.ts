import {
  type AuthError,
  createClient,
  isAuthApiError,
  isAuthSessionMissingError,
  type SupabaseClientOptions,
  type Session as SupabaseSession,
} from '@supabase/supabase-js';
import { decodeJwt } from 'jose';
import WebSocket from 'ws';
import { normalizeEmail } from '../../domain/email';
import { AppError } from '../../domain/errors';
import type { AuthResult, ClientInfo, Session } from '../../domain/session';
import type { AuthenticatedUser } from '../../domain/user';
import type { AuthProvider, LoginInput, RegisterInput } from '../../ports/auth-provider';
import type { Clock } from '../../ports/clock';
import type { Revocations } from '../../ports/revocations';
import type { AuthThrottle } from '../auth-throttle';
import { weakPasswordReason } from '../password-policy';
import { EndedSessions } from './ended-sessions';
import { appErrorFromGoTrue } from './gotrue-errors';
import type { SupabaseTokenVerifier } from './supabase-token-verifier';
import type { SupabaseUsers } from './supabase-users';
import { upstreamFetch } from './upstream-fetch';

export interface SupabaseAuthOptions {
  /** The project URL (SUPABASE_URL); Auth answers under /auth/v1. */
  url: string;
  /**
   * The publishable (anon) key. Sign-up, sign-in, refresh and sign-out are what any client of the
   * project may do, so the service-role key, which passes every rule, stays out of this process.
   */
  anonKey: string;
  verifier: SupabaseTokenVerifier;
  users: SupabaseUsers;
  throttle: AuthThrottle;
  clock: Clock;
  /** Tells the other processes of a session logged out here (they verify its tokens locally too). */
  revocations?: Revocations;
}

const MAX_DISPLAY_NAME = 80;

type RealtimeTransport = NonNullable<NonNullable<SupabaseClientOptions<'public'>['realtime']>['transport']>;
/** ws, the transport supabase-js documents for Node 20; @types/ws types its events apart from the DOM's. */
const realtimeTransport = WebSocket as unknown as RealtimeTransport;
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Accounts kept by Supabase Auth. Credentials and sessions live there, reached through supabase-js;
 * access tokens are verified here against the project's keys, so an authenticated request costs no
 * call to Supabase. Each user also has a row in Hearth's `users` table, with Supabase's id.
 */
export class SupabaseAuthProvider implements AuthProvider {
  readonly name = 'supabase' as const;
  private readonly projectUrl: string;
  private readonly authUrl: string;
  private readonly fetch: typeof fetch;
  private readonly endedSessions: EndedSessions;

  constructor(private readonly options: SupabaseAuthOptions) {
    this.projectUrl = options.url.replace(/\/+$/, '');
    this.authUrl = `${this.projectUrl}/auth/v1`;
    this.fetch = upstreamFetch(REQUEST_TIMEOUT_MS);
    this.endedSessions = new EndedSessions(options.clock);
    options.revocations?.subscribe((revocation) => {
      if (revocation.kind === 'session') {
        this.endedSessions.add(revocation.sessionId, new Date(revocation.tokensExpireAt));
      }
    });
  }

  async register(input: RegisterInput, client: ClientInfo): Promise<AuthResult> {
    const email = normalizeEmail(input.email);
    // Hearth's own rule first, so the contract holds whatever the project's password settings are.
    const weakness = weakPasswordReason(input.password, email);
    if (weakness) throw new AppError('WEAK_PASSWORD', weakness, { fieldErrors: { password: [weakness] } });
    const displayName = input.displayName?.trim() || null;
    // Supabase limits sign-ups per client address too, and every one of them comes from this server.
    return this.options.throttle.registration(client.ip, async () => {
      const { data, error } = await this.client().signUp({
        email,
        password: input.password,
        options: { data: displayName ? { display_name: displayName } : {} },
      });
      if (error) throw appErrorFromGoTrue(error);
      // With "Confirm email" on, Supabase sends a link and no session (also when the email is taken,
      // so the answer does not tell who has an account).
      if (!data.session) {
        throw new AppError('FORBIDDEN', 'Check your inbox: confirm your email address, then log in.');
      }
      return this.signedIn(data.session, displayName);
    });
  }

  async login(input: LoginInput, client: ClientInfo): Promise<AuthResult> {
    const email = normalizeEmail(input.email);
    // Supabase limits sign-ins per client address, and every one of them comes from this server.
    return this.options.throttle.login(email, client.ip, async () => {
      const { data, error } = await this.client().signInWithPassword({ email, password: input.password });
      if (error) throw appErrorFromGoTrue(error);
      return this.signedIn(data.session, null);
    });
  }

  async refresh(refreshToken: string): Promise<{ session: Session }> {
    const { data, error } = await this.client().refreshSession({ refresh_token: refreshToken });
    if (error) throw appErrorFromGoTrue(error);
    if (!data.session) throw new AppError('UNAUTHENTICATED', 'This session has ended. Log in again.');
    return { session: this.toSession(data.session) };
  }

  async logout(caller: AuthenticatedUser, accessToken: string): Promise<void> {
    // Auth files this under admin, but it takes no admin rights: it ends the session of the JWT given.
    const { error } = await this.client().admin.signOut(accessToken, 'local');
    if (error && !alreadyEnded(error)) throw appErrorFromGoTrue(error);
    const { exp } = decodeJwt(accessToken);
    const revocation = { kind: 'session' as const, sessionId: caller.sessionId, tokensExpireAt: (exp ?? 0) * 1000 };
    this.endedSessions.add(revocation.sessionId, new Date(revocation.tokensExpireAt));
    this.options.revocations?.publish(revocation);
  }

  async authenticate(accessToken: string): Promise<AuthenticatedUser> {
    const claims = await this.options.verifier.verify(accessToken);
    if (this.endedSessions.has(claims.sessionId)) {
      throw new AppError('UNAUTHENTICATED', 'This session has ended. Log in again.');
    }
    if (!claims.email || claims.isAnonymous) {
      throw new AppError('FORBIDDEN', 'This account has no email address; sign in with email and password.');
    }
    const user = await this.options.users.resolve({
      id: claims.userId,
      email: claims.email,
      displayName: displayNameIn(claims.userMetadata),
    });
    return { id: user.id, email: user.email, role: user.role, sessionId: claims.sessionId };
  }

  /** For /readyz: whether Supabase Auth answers its health check. */
  async ping(): Promise<void> {
    const response = await this.fetch(`${this.authUrl}/health`, { headers: { apikey: this.options.anonKey } });
    if (!response.ok) throw new Error(`Supabase Auth answered HTTP ${response.status}`);
  }

  /**
   * supabase-js's Auth client, one per operation. Auth keeps the session it last received, and its
   * refresh in flight, on the instance: a client shared between requests would hand one user's
   * session to another. With nothing persisted and no auto-refresh it holds no timer; its Realtime
   * client opens no socket until a channel is joined, which Hearth never does (ws is its transport
   * only because, without a WebSocket in Node 20's globals, it refuses to be built at all).
   */
  private client() {
    return createClient(this.projectUrl, this.options.anonKey, {
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      realtime: { transport: realtimeTransport },
      global: { fetch: this.fetch },
    }).auth;
  }

  private async signedIn(session: SupabaseSession, displayName: string | null): Promise<AuthResult> {
    const user = await this.options.users.sync({
      id: session.user.id,
      email: session.user.email ?? '',
      displayName: displayName ?? displayNameIn(session.user.user_metadata),
    });
    return { user, session: this.toSession(session) };
  }

  private toSession(session: SupabaseSession): Session {
    const expiresAtSeconds =
      session.expires_at ?? Math.floor(this.options.clock.now().getTime() / 1000) + session.expires_in;
    return {
      accessToken: session.access_token,
      refreshToken: session.refresh_token,
      tokenType: 'bearer',
      expiresAt: new Date(expiresAtSeconds * 1000),
    };
  }
}

/** A session Supabase no longer has is already what a logout wants (the rule auth-js's own signOut follows). */
function alreadyEnded(error: AuthError): boolean {
  return isAuthSessionMissingError(error) || (isAuthApiError(error) && [401, 403, 404].includes(error.status));
}

/** The name Supabase holds for a user: set at sign-up through Hearth, or in the dashboard or by OAuth. */
function displayNameIn(metadata: Record<string, unknown> | undefined): string | null {
  for (const key of ['display_name', 'full_name', 'name']) {
    const value = metadata?.[key];
    if (typeof value === 'string' && value.trim()) return value.trim().slice(0, MAX_DISPLAY_NAME);
  }
  return null;
}
