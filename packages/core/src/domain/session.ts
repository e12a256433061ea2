import type { User } from './user';

export interface Session {
  accessToken: string;
  refreshToken: string;
  tokenType: 'bearer';
  /** When the access token expires; refresh before then. */
  expiresAt: Date;
}

export interface AuthResult {
  user: User;
  session: Session;
}

/** Facts about the caller's connection, used for throttling and session records. */
export interface ClientInfo {
  ip: string;
  userAgent: string | null;
}
