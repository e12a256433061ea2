import { AppError } from '../../domain/errors';
import type { ClientInfo } from '../../domain/session';
import type { AuthenticatedUser } from '../../domain/user';
import type { ApiKeyOperations } from '../../ports/api-keys';
import type { AuthProvider, LoginInput, RegisterInput } from '../../ports/auth-provider';
import { isApiKey } from './api-key-service';

/**
 * The configured provider, with personal API keys in front: a bearer token starting `hth_` is
 * resolved by the key service, anything else by the provider. Every surface that authenticates
 * through `AuthProvider.authenticate` (tRPC, REST, the OpenAI endpoint) accepts keys so.
 */
export class ApiKeyAuthProvider implements AuthProvider {
  readonly name: AuthProvider['name'];

  constructor(
    private readonly inner: AuthProvider,
    private readonly keys: ApiKeyOperations,
  ) {
    this.name = inner.name;
  }

  register(input: RegisterInput, client: ClientInfo) {
    return this.inner.register(input, client);
  }

  login(input: LoginInput, client: ClientInfo) {
    return this.inner.login(input, client);
  }

  refresh(refreshToken: string, client: ClientInfo) {
    return this.inner.refresh(refreshToken, client);
  }

  logout(caller: AuthenticatedUser, accessToken: string): Promise<void> {
    // A key has no session to end; revoking it is auth.revokeApiKey, from a signed-in session.
    if (caller.apiKeyId) {
      return Promise.reject(new AppError('FORBIDDEN', 'An API key cannot log out: revoke it instead.'));
    }
    return this.inner.logout(caller, accessToken);
  }

  authenticate(accessToken: string): Promise<AuthenticatedUser> {
    return isApiKey(accessToken) ? this.keys.authenticate(accessToken) : this.inner.authenticate(accessToken);
  }
}
