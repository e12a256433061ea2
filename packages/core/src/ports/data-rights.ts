import type { ClientInfo } from '../domain/session';
import type { AuthenticatedUser } from '../domain/user';

/** A user's own copy of their data, and the end of their account. */
export interface DataRightsOperations {
  /** One JSON document (see `exportUser`), in pieces as it is read. */
  exportData(caller: AuthenticatedUser): AsyncIterable<string>;
  /**
   * Deletes the account after the password is proven again (a login through the auth provider):
   * its runs are cancelled first, then its agent upstream, its billing proxy user, and every row of
   * it in the store, but for usage records, which are kept with no user.
   */
  deleteAccount(caller: AuthenticatedUser, password: string, client: ClientInfo): Promise<void>;
}
