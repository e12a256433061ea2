import type { AuthenticatedUser, User, UserProfile } from '../domain/user';

export interface UserService {
  me(caller: AuthenticatedUser): Promise<User>;
  profile(caller: AuthenticatedUser): Promise<UserProfile>;
  updateProfile(caller: AuthenticatedUser, changes: { displayName: string | null }): Promise<User>;
}
