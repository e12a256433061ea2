import type {
  AccountOperations,
  AdminOperations,
  AgentOperations,
  ApiKeyOperations,
  AttachmentOperations,
  AuthenticatedUser,
  AuthProvider,
  ChatOperations,
  ClientInfo,
  CompletionOperations,
  DataRightsOperations,
  UserService,
} from '@hearth/core';

/** The few logging calls the API makes; pino's logger satisfies it. */
export interface ApiLogger {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

/**
 * What the routers need from the rest of Hearth, as ports only: the composition root decides
 * which adapters stand behind them, and no adapter type reaches the SDK's published types.
 */
export interface ApiDeps {
  auth: AuthProvider;
  users: UserService;
  chat: ChatOperations;
  agent: AgentOperations;
  account: AccountOperations;
  apiKeys: ApiKeyOperations;
  admin: AdminOperations;
  /** The OpenAI-compatible endpoint's completions. */
  completions: CompletionOperations;
  /** The user's export of their data, and the deletion of their account. */
  dataRights: DataRightsOperations;
  /** chat.attachment: one of the caller's files. */
  attachments: AttachmentOperations;
}

// A type alias, not an interface: @hono/trpc-server wants a context assignable to Record<string, unknown>.
export type ApiContext = {
  deps: ApiDeps;
  requestId: string;
  client: ClientInfo;
  accessToken: string | null;
  log: ApiLogger;
  /** Development only: error stacks go to the client. */
  exposeErrorDetails: boolean;
};

export type AuthedContext = ApiContext & { user: AuthenticatedUser; accessToken: string };
