export type UserRole = 'user' | 'admin';

export interface User {
  id: string;
  email: string;
  displayName: string | null;
  role: UserRole;
  createdAt: Date;
}

export interface UserProfile extends User {
  agentId: string | null;
}

/** Who is calling, as established from a verified access token. */
export interface AuthenticatedUser {
  id: string;
  email: string;
  role: UserRole;
  sessionId: string;
  /** Set when the caller presented a personal API key (then `sessionId` is the key's id): what a key may not do is refused by it. */
  apiKeyId?: string;
}
