import type { AuthResult, ClientInfo, Session } from '../domain/session';
import type { AuthenticatedUser } from '../domain/user';

export interface RegisterInput {
  email: string;
  password: string;
  displayName?: string | undefined;
}

export interface LoginInput {
  email: string;
  password: string;
}

/**
 * Who the users are and how they prove it. The built-in provider keeps credentials in Hearth's own
 * store; the Supabase provider delegates to Supabase Auth. Both issue Supabase-compatible JWTs.
 */
export interface AuthProvider {
  readonly name: 'builtin' | 'supabase';
  register(input: RegisterInput, client: ClientInfo): Promise<AuthResult>;
  login(input: LoginInput, client: ClientInfo): Promise<AuthResult>;
  refresh(refreshToken: string, client: ClientInfo): Promise<{ session: Session }>;
  /** Ends the caller's session; `accessToken` is the caller's own, for a provider that must present it upstream. */
  logout(caller: AuthenticatedUser, accessToken: string): Promise<void>;
  /** Resolves the caller of a request; throws UNAUTHENTICATED for any token it cannot trust. */
  authenticate(accessToken: string): Promise<AuthenticatedUser>;
}
