import { AppError } from '../domain/errors';
import type { AuthResult, ClientInfo, Session } from '../domain/session';
import type { AuthenticatedUser } from '../domain/user';
import type { AuthProvider, LoginInput, RegisterInput } from '../ports/auth-provider';
import type { Clock } from '../ports/clock';
import type { Database } from '../store/database';
import { type AccountStatus, grantAdmin } from './account-status';

export const accountDisabled = () =>
  new AppError('FORBIDDEN', 'This account has been disabled by the operator of this Hearth server.');

/**
 * The outermost auth provider: whatever proves who the caller is (a session, a refresh token, an API
 * key, Supabase), a disabled account is refused (`FORBIDDEN`), and an account named in ADMIN_EMAILS
 * gets the admin role when it registers or logs in.
 */
export class AccountGate implements AuthProvider {
  readonly name: AuthProvider['name'];

  constructor(
    private readonly inner: AuthProvider,
    private readonly status: AccountStatus,
    private readonly db: Database,
    private readonly clock: Clock,
  ) {
    this.name = inner.name;
  }

  async register(input: RegisterInput, client: ClientInfo): Promise<AuthResult> {
    return this.promoted(await this.inner.register(input, client));
  }

  async login(input: LoginInput, client: ClientInfo): Promise<AuthResult> {
    const result = await this.inner.login(input, client);
    if (await this.status.isDisabled(result.user.id)) {
      await this.endSession(result.session);
      throw accountDisabled();
    }
    return this.promoted(result);
  }

  async refresh(refreshToken: string, client: ClientInfo): Promise<{ session: Session }> {
    const result = await this.inner.refresh(refreshToken, client);
    // The refresh token names no user here: the new access token does. It may already be refused:
    // the same token presented twice at once rotates once, and the other request, seeing it spent,
    // ends the session. Then there is nothing to gate (it is refused at its first use), and this
    // request, the one that rotated, still answers as the provider did.
    const caller = await this.inner.authenticate(result.session.accessToken).catch(() => null);
    if (caller && (await this.status.isDisabled(caller.id))) {
      await this.inner.logout(caller, result.session.accessToken).catch(() => {});
      throw accountDisabled();
    }
    return result;
  }

  logout(caller: AuthenticatedUser, accessToken: string): Promise<void> {
    return this.inner.logout(caller, accessToken);
  }

  async authenticate(accessToken: string): Promise<AuthenticatedUser> {
    const caller = await this.inner.authenticate(accessToken);
    if (await this.status.isDisabled(caller.id)) throw accountDisabled();
    return caller;
  }

  /** A session opened for a disabled account is ended before anyone can use it. */
  private async endSession(session: Session): Promise<void> {
    const caller = await this.inner.authenticate(session.accessToken).catch(() => null);
    if (caller) await this.inner.logout(caller, session.accessToken).catch(() => {});
  }

  private async promoted(result: AuthResult): Promise<AuthResult> {
    if (result.user.role === 'admin' || !this.status.isListedAdmin(result.user.email)) return result;
    await grantAdmin(this.db, result.user.email, this.clock.now());
    return { ...result, user: { ...result.user, role: 'admin' } };
  }
}
