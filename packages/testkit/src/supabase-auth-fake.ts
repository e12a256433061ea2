import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { JWTPayload } from 'jose';
import { readBody, sendJson } from './http-io';
import { isRecord, parseJson } from './json';
import { ContractLog, OpenApiContract } from './openapi-contract';
import { SigningKeys } from './supabase-signing-keys';

export interface FakeSupabaseAuthOptions {
  /** Makes a legacy project: HS256 tokens signed with this secret, and an empty JWKS. */
  legacyJwtSecret?: string;
  /** false: "Confirm email" is on, so sign-ups get no session and sign-in waits for the confirmation. */
  autoconfirm?: boolean;
  /** Passwords leaked-password protection refuses (HaveIBeenPwned in the real service). */
  leakedPasswords?: string[];
  /** The project's clock, for token times: share the server's TestClock. */
  now?: () => Date;
}

export interface FakeSupabaseUser {
  id: string;
  email: string;
  password: string;
  emailConfirmedAt: Date | null;
  userMetadata: Record<string, unknown>;
  createdAt: Date;
  lastSignInAt: Date | null;
}

/** One request as the fake received it, with the headers that say who sent it. */
export interface FakeSupabaseAuthCall {
  method: string;
  /** After `/auth/v1`. */
  path: string;
  query: string;
  apikey: string | undefined;
  authorization: string | undefined;
  apiVersion: string | undefined;
  /** The client library and runtime, as supabase-js names them (`supabase-js/2.x; runtime=node; …`). */
  clientInfo: string | undefined;
  body: unknown;
}

export interface FakeSupabaseAuth {
  /** The project URL, as `SUPABASE_URL`: Auth answers under `/auth/v1`. */
  url: string;
  /** The `iss` of the project's access tokens. */
  issuer: string;
  /** The publishable (anon) key every request must carry as `apikey`. */
  anonKey: string;
  /** Every exchange, checked against the published Supabase Auth API. */
  contract: ContractLog;
  calls: FakeSupabaseAuthCall[];
  /** The kid new tokens are signed with; undefined on a legacy project. */
  readonly currentKid: string | undefined;
  /** As an operator does in the dashboard: a confirmed user who never signed up through the API. */
  createUser(input: { email: string; password: string; userMetadata?: Record<string, unknown> }): FakeSupabaseUser;
  /** As an operator does in the dashboard: the user and every session of theirs are gone. */
  deleteUser(id: string): void;
  /** Publishes a key with a new kid and signs with it from now on; `dropPrevious` also revokes the older keys. */
  rotateKeys(options?: { dropPrevious?: boolean }): Promise<string>;
  /** Signs `claims` as they are with the project's current key, for tests that need an unusual token. */
  mintAccessToken(claims: JWTPayload): Promise<string>;
  close(): Promise<void>;
}

const AUTH_PATH = '/auth/v1';
/** Real, but absent from the published spec, so it is served outside the contract check. */
const JWKS_PATH = '/.well-known/jwks.json';
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MIN_PASSWORD_LENGTH = 6;

interface Answer {
  status: number;
  body?: unknown;
}

/**
 * A GoTrue error. The body takes the shape the published spec documents (`{ code: <status>,
 * error_code, msg }`), which GoTrue sends to clients naming no API version; the 2024-01-01 shape
 * (`{ code: <string>, message }`) is not in the spec. supabase-js reads the error code from either.
 * Statuses are the ones the spec declares for the endpoint (it allows 400 where GoTrue now says 422).
 */
class GoTrueError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }

  toAnswer(): Answer {
    return {
      status: this.status,
      body: { code: this.status, error_code: this.code, msg: this.message, ...this.extra },
    };
  }
}

interface RefreshTokenRecord {
  sessionId: string;
  /** The token this one replaced. */
  parent: string | null;
  revoked: boolean;
}

/**
 * A stand-in for Supabase Auth (GoTrue) at its HTTP boundary (shared/reference/supabase.md):
 * sign-up, password and refresh-token grants with single-use refresh tokens, logout, health, and
 * the JWKS, with ES256 keys that rotate (or one HS256 secret, for a legacy project). Users can also
 * be added and removed as in the dashboard. Every request and answer goes through the published
 * spec's checks.
 *
 * Refresh tokens follow GoTrue with a reuse interval of 0: a spent token that is the parent of the
 * session's live one gets that live one back (a client that lost the answer); any other spent
 * token ends the session (`refresh_token_already_used`).
 */
export async function startFakeSupabaseAuth(options: FakeSupabaseAuthOptions = {}): Promise<FakeSupabaseAuth> {
  const anonKey = 'sb_publishable_fake-anon-key';
  /** Supabase's default access token lifetime. */
  const ttl = 3600;
  const autoconfirm = options.autoconfirm ?? true;
  const leaked = new Set(options.leakedPasswords ?? []);
  const now = options.now ?? (() => new Date());
  const keys = await SigningKeys.create(options.legacyJwtSecret);
  const contract = new ContractLog(OpenApiContract.load('supabaseAuth'));
  const calls: FakeSupabaseAuthCall[] = [];
  const users = new Map<string, FakeSupabaseUser>();
  const sessions = new Map<string, { userId: string }>();
  const refreshTokens = new Map<string, RefreshTokenRecord>();
  let issuer = '';

  const findByEmail = (email: string) => [...users.values()].find((user) => user.email === email);

  const addUser = (email: string, password: string, data: Record<string, unknown>, confirmed: boolean) => {
    const id = randomUUID();
    const at = now();
    const user: FakeSupabaseUser = {
      id,
      email,
      password,
      emailConfirmedAt: confirmed ? at : null,
      // GoTrue merges the email identity's data into what the client sent.
      userMetadata: { ...data, email, email_verified: confirmed, phone_verified: false, sub: id },
      createdAt: at,
      lastSignInAt: null,
    };
    users.set(id, user);
    return user;
  };

  const userJson = (user: FakeSupabaseUser) => {
    const iso = (date: Date | null) => date?.toISOString();
    const confirmed = iso(user.emailConfirmedAt);
    return {
      id: user.id,
      aud: 'authenticated',
      role: 'authenticated',
      email: user.email,
      phone: '',
      ...(confirmed ? { email_confirmed_at: confirmed, confirmed_at: confirmed } : {}),
      ...(confirmed ? {} : { confirmation_sent_at: iso(user.createdAt) }),
      ...(user.lastSignInAt ? { last_sign_in_at: iso(user.lastSignInAt) } : {}),
      app_metadata: { provider: 'email', providers: ['email'] },
      user_metadata: user.userMetadata,
      identities: [
        {
          identity_id: randomUUID(),
          id: user.id,
          user_id: user.id,
          identity_data: { email: user.email, email_verified: !!confirmed, phone_verified: false, sub: user.id },
          provider: 'email',
          last_sign_in_at: iso(user.createdAt),
          created_at: iso(user.createdAt),
          updated_at: iso(user.createdAt),
          email: user.email,
        },
      ],
      created_at: iso(user.createdAt),
      updated_at: iso(user.lastSignInAt ?? user.createdAt),
      is_anonymous: false,
    };
  };

  const newRefreshToken = (sessionId: string, parent: string | null) => {
    const token = randomBytes(16).toString('base64url');
    refreshTokens.set(token, { sessionId, parent, revoked: false });
    return token;
  };

  const sessionAnswer = async (user: FakeSupabaseUser, sessionId: string, refreshToken: string): Promise<Answer> => {
    const issuedAt = Math.floor(now().getTime() / 1000);
    const accessToken = await keys.sign({
      iss: issuer,
      sub: user.id,
      aud: 'authenticated',
      exp: issuedAt + ttl,
      iat: issuedAt,
      email: user.email,
      phone: '',
      app_metadata: { provider: 'email', providers: ['email'] },
      user_metadata: user.userMetadata,
      role: 'authenticated',
      aal: 'aal1',
      amr: [{ method: 'password', timestamp: issuedAt }],
      session_id: sessionId,
      is_anonymous: false,
    });
    return {
      status: 200,
      body: {
        access_token: accessToken,
        token_type: 'bearer',
        expires_in: ttl,
        expires_at: issuedAt + ttl,
        refresh_token: refreshToken,
        user: userJson(user),
      },
    };
  };

  const startSession = (user: FakeSupabaseUser) => {
    const sessionId = randomUUID();
    sessions.set(sessionId, { userId: user.id });
    user.lastSignInAt = now();
    return sessionAnswer(user, sessionId, newRefreshToken(sessionId, null));
  };

  const endSession = (sessionId: string) => {
    sessions.delete(sessionId);
    for (const [token, record] of refreshTokens) if (record.sessionId === sessionId) refreshTokens.delete(token);
  };

  /** The session of the user JWT in `Authorization`, as GoTrue's authenticated endpoints require. */
  const caller = async (authorization: string | undefined) => {
    const token = authorization?.replace(/^Bearer /, '') ?? '';
    const claims = await keys.verify(token, issuer, now());
    if (!claims) throw new GoTrueError(401, 'bad_jwt', 'invalid JWT: unable to parse or verify signature');
    const sessionId = String(claims.session_id ?? '');
    const session = sessions.get(sessionId);
    const user = session && users.get(session.userId);
    if (!user) throw new GoTrueError(401, 'session_not_found', 'Session from session_id claim in JWT does not exist');
    return { sessionId, user };
  };

  const signup = async (body: Record<string, unknown>): Promise<Answer> => {
    const password = typeof body.password === 'string' ? body.password : '';
    const email = typeof body.email === 'string' ? body.email.trim().toLowerCase() : '';
    if (!password) throw new GoTrueError(400, 'validation_failed', 'Signup requires a valid password');
    if (password.length < MIN_PASSWORD_LENGTH) {
      throw new GoTrueError(400, 'weak_password', `Password should be at least ${MIN_PASSWORD_LENGTH} characters.`, {
        weak_password: { reasons: ['length'] },
      });
    }
    if (leaked.has(password)) {
      throw new GoTrueError(
        400,
        'weak_password',
        'Password is known to be weak and easy to guess, please choose another.',
        {
          weak_password: { reasons: ['pwned'] },
        },
      );
    }
    if (!EMAIL.test(email)) throw new GoTrueError(400, 'email_address_invalid', `Email address "${email}" is invalid`);
    const existing = findByEmail(email);
    if (existing) {
      if (autoconfirm) throw new GoTrueError(400, 'user_already_exists', 'User already registered');
      // With confirmations on, GoTrue answers as for a new user so the answer does not reveal who has an account.
      return { status: 200, body: { ...userJson(existing), id: randomUUID(), identities: [] } };
    }
    const data = isRecord(body.data) ? body.data : {};
    const user = addUser(email, password, data, autoconfirm);
    return autoconfirm ? startSession(user) : { status: 200, body: userJson(user) };
  };

  const passwordGrant = async (body: Record<string, unknown>): Promise<Answer> => {
    const email = typeof body.email === 'string' ? body.email.trim().toLowerCase() : '';
    const user = findByEmail(email);
    if (!user || user.password !== body.password) {
      throw new GoTrueError(400, 'invalid_credentials', 'Invalid login credentials');
    }
    if (!user.emailConfirmedAt) throw new GoTrueError(400, 'email_not_confirmed', 'Email not confirmed');
    return startSession(user);
  };

  const refreshGrant = async (body: Record<string, unknown>): Promise<Answer> => {
    const presented = typeof body.refresh_token === 'string' ? body.refresh_token : '';
    if (!presented) throw new GoTrueError(400, 'validation_failed', 'refresh_token required');
    const record = refreshTokens.get(presented);
    const session = record && sessions.get(record.sessionId);
    const user = session && users.get(session.userId);
    if (!record || !user) {
      throw new GoTrueError(400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
    }
    if (!record.revoked) {
      record.revoked = true;
      return sessionAnswer(user, record.sessionId, newRefreshToken(record.sessionId, presented));
    }
    const live = [...refreshTokens].find(([, other]) => other.sessionId === record.sessionId && !other.revoked);
    if (live && live[1].parent === presented) return sessionAnswer(user, record.sessionId, live[0]);
    for (const other of refreshTokens.values()) if (other.sessionId === record.sessionId) other.revoked = true;
    throw new GoTrueError(400, 'refresh_token_already_used', 'Invalid Refresh Token: Already Used');
  };

  const logout = async (scope: string | null, authorization: string | undefined): Promise<Answer> => {
    const { sessionId, user } = await caller(authorization);
    const mine = [...sessions].filter(([, session]) => session.userId === user.id).map(([id]) => id);
    const ending = scope === 'local' ? [sessionId] : mine.filter((id) => scope !== 'others' || id !== sessionId);
    for (const id of ending) endSession(id);
    return { status: 204 };
  };

  const route = async (method: string, path: string, url: URL, req: IncomingMessage, body: unknown) => {
    const fields = isRecord(body) ? body : {};
    const apikey = req.headers.apikey;
    if (apikey !== anonKey) throw new GoTrueError(401, 'no_authorization', 'Invalid API key');
    if (method === 'GET' && path === '/health') {
      return {
        status: 200,
        body: { version: 'fake', name: 'GoTrue', description: 'GoTrue is a user registration and authentication API' },
      };
    }
    if (method === 'POST' && path === '/signup') return signup(fields);
    if (method === 'POST' && path === '/token') {
      const grant = url.searchParams.get('grant_type');
      if (grant === 'password') return passwordGrant(fields);
      if (grant === 'refresh_token') return refreshGrant(fields);
      throw new GoTrueError(400, 'validation_failed', `Unsupported grant type "${grant}"`);
    }
    if (method === 'POST' && path === '/logout')
      return logout(url.searchParams.get('scope'), req.headers.authorization);
    throw new GoTrueError(404, 'not_found', `${method} ${path} is not served by this fake`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const path = url.pathname.startsWith(AUTH_PATH) ? url.pathname.slice(AUTH_PATH.length) : url.pathname;
    const text = await readBody(req);
    const parsed = text ? parseJson(text) : undefined;
    const body = parsed?.ok ? readAsGoTrue(parsed.value) : undefined;
    calls.push({
      method,
      path,
      query: url.search,
      apikey: header(req, 'apikey'),
      authorization: req.headers.authorization,
      apiVersion: header(req, 'x-supabase-api-version'),
      clientInfo: header(req, 'x-client-info'),
      body,
    });
    if (method === 'GET' && path === JWKS_PATH) return sendJson(res, 200, keys.jwks());

    contract.request({ method, path, query: url.searchParams, ...(body === undefined ? {} : { body }) });
    let answer: Answer;
    try {
      if (parsed && !parsed.ok) throw new GoTrueError(400, 'bad_json', 'Could not parse request body as JSON');
      answer = await route(method, path, url, req, body);
    } catch (error) {
      if (!(error instanceof GoTrueError)) throw error;
      answer = error.toAnswer();
    }
    contract.response({ method, path }, answer);
    if (answer.body === undefined) {
      res.writeHead(answer.status);
      res.end();
    } else {
      sendJson(res, answer.status, answer.body);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { code: 500, error_code: 'unexpected_failure', msg: 'fake failed' });
      else res.destroy();
    });
  });
  // Realtime is not faked: a WebSocket attempt (/realtime/v1/websocket) is recorded, then refused.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    calls.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search,
      apikey: url.searchParams.get('apikey') ?? undefined,
      authorization: req.headers.authorization,
      apiVersion: undefined,
      clientInfo: header(req, 'x-client-info'),
      body: undefined,
    });
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  issuer = `${url}${AUTH_PATH}`;

  return {
    url,
    issuer,
    anonKey,
    contract,
    calls,
    get currentKid() {
      return keys.currentKid;
    },
    createUser: ({ email, password, userMetadata }) => {
      const normalized = email.trim().toLowerCase();
      if (findByEmail(normalized)) throw new Error(`${normalized} already has an account`);
      return addUser(normalized, password, userMetadata ?? {}, true);
    },
    deleteUser: (id) => {
      users.delete(id);
      for (const [sessionId, session] of sessions) if (session.userId === id) endSession(sessionId);
    },
    rotateKeys: (rotation = {}) => keys.rotate({ dropPrevious: rotation.dropPrevious ?? false }),
    mintAccessToken: (claims) => keys.sign(claims),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * GoTrue decodes bodies with Go's encoding/json, where a null field is the same as an absent one,
 * and supabase-js sends `code_challenge: null` with every sign-up. The fake reads bodies the same
 * way, so the contract check sees what GoTrue acts on.
 */
function readAsGoTrue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(readAsGoTrue);
  if (!isRecord(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, field]) => field !== null)
      .map(([key, field]) => [key, readAsGoTrue(field)]),
  );
}
