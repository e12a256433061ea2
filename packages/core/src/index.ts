export { AccountGate, accountDisabled } from './admin/account-gate';
export { AccountStatus, grantAdmin } from './admin/account-status';
export { AdminService, type AdminServiceOptions } from './admin/admin-service';
export { type ExportProgress, exportUser } from './admin/user-export';
export { AgentService } from './agent/agent-service';
export { BuiltinAgentRuntime, type BuiltinRuntimeOptions } from './agent/builtin-agent-runtime';
export { LettaAgentIds } from './agent/letta/letta-agent-ids';
export { LettaAgentRuntime, type LettaRuntimeOptions } from './agent/letta/letta-agent-runtime';
export { createLettaClient, type LettaClientOptions } from './agent/letta/letta-client';
export { LettaMcpTools, type LettaMcpToolsOptions } from './agent/letta/letta-mcp-tools';
export { AttachmentChat, AttachmentService, type AttachmentServiceOptions } from './attachments/attachment-service';
export { DatabaseAttachmentStorage } from './attachments/database/database-attachment-storage';
export { sniffImage, warmPdfReader } from './attachments/inspect';
export { S3AttachmentStorage, type S3StorageOptions } from './attachments/s3/s3-attachment-storage';
export { ApiKeyAuthProvider } from './auth/api-keys/api-key-auth-provider';
export { API_KEY_PREFIX, ApiKeyService, hashApiKey, isApiKey } from './auth/api-keys/api-key-service';
export { ApiKeyStore } from './auth/api-keys/api-key-store';
export { AuthThrottle, type AuthThrottleLimits } from './auth/auth-throttle';
export { type AccessTokenOptions, AccessTokens } from './auth/builtin/access-tokens';
export { AuthStore } from './auth/builtin/auth-store';
export { type BuiltinAuthOptions, BuiltinAuthProvider } from './auth/builtin/builtin-auth-provider';
export { resolveSigningKey } from './auth/signing-key';
export { createSupabaseAuthProvider } from './auth/supabase/create-supabase-auth-provider';
export type { SupabaseAuthOptions, SupabaseAuthProvider } from './auth/supabase/supabase-auth-provider';
export { SupabaseTokenVerifier, type SupabaseTokenVerifierOptions } from './auth/supabase/supabase-token-verifier';
export { SupabaseUsers } from './auth/supabase/supabase-users';
export { AccountService } from './billing/account-service';
export { BuiltinLedger, type LedgerOptions } from './billing/builtin-ledger';
export { budgetDuration, LiteLlmAdmin, type LiteLlmAdminOptions } from './billing/litellm/litellm-admin';
export { LiteLlmLedger } from './billing/litellm/litellm-ledger';
export type { ModelPrice } from './billing/model-price';
export { periodEnd, periodStart } from './billing/periods';
export { costMicros, PriceTable } from './billing/prices';
export { againOnStoreFailure } from './chat/again-on-store-failure';
export { ChatService, type ChatServiceOptions } from './chat/chat-service';
export { cleanTitle, TitleWriter } from './chat/conversation-titles';
export { ModelCatalog, type OfferedModel } from './chat/model-catalog';
export { CompletionService, type CompletionServiceOptions } from './completions/completion-service';
export type {
  Attachment,
  AttachmentInfo,
  AttachmentKind,
  AttachmentLimits,
  AttachmentUpload,
} from './domain/attachment';
export { BUDGET_PERIODS, type BudgetPeriod } from './domain/budget';
export type {
  ArchivalPassage,
  Conversation,
  HistoryMessage,
  MemoryBlock,
  MemoryVersion,
  Message,
  MessageStatus,
  ModelInfo,
  RunEvent,
  RunStatus,
  Usage,
} from './domain/chat';
export { DEFAULT_BLOCKS } from './domain/default-blocks';
export { normalizeEmail } from './domain/email';
export { APP_CODES, type AppCode, AppError, type AppErrorData, isAppError } from './domain/errors';
export type { AuthResult, ClientInfo, Session } from './domain/session';
export type { AuthenticatedUser, User, UserProfile, UserRole } from './domain/user';
export { OFFLINE_MODEL, OfflineModel } from './llm/offline-model';
export { OpenAiCompatibleClient, type OpenAiCompatibleOptions } from './llm/openai-compatible-client';
export { countTokens } from './llm/token-count';
export { isExpectedError, type SafeError, safeError, statementShape } from './logging/safe-error';
export type { McpLogger, McpServerSpec } from './mcp/mcp-connection';
export { McpToolbox, type McpToolboxOptions } from './mcp/mcp-toolbox';
export { MemoryRateLimiter } from './memory/memory-rate-limiter';
export { MemoryStreamSlots } from './memory/memory-stream-slots';
export { RunHub } from './memory/run-hub';
export type { AccountOperations, Budget, Health, UsageTotalsUsd } from './ports/account';
export type {
  AdminHealth,
  AdminOperations,
  AdminUsage,
  AdminUsageQuery,
  AdminUserDetails,
  AdminUserSummary,
  UserStatus,
} from './ports/admin';
export type { AgentRecord, AgentRepository, SearchHit, WrittenBlock } from './ports/agent-repository';
export type {
  AgentInfo,
  AgentRuntime,
  AgentTurn,
  ArchivalInput,
  ArchivalPage,
  MemoryHistoryInput,
  MemoryHistoryPage,
  TurnAttachment,
  TurnEvent,
} from './ports/agent-runtime';
export type { AgentToolbox, AgentToolCall, AgentToolOutcome } from './ports/agent-tools';
export type { ApiKeyInfo, ApiKeyOperations, CreatedApiKey } from './ports/api-keys';
export type { AttachmentStorage } from './ports/attachment-storage';
export type { AttachmentOperations } from './ports/attachments';
export type { AuthProvider, LoginInput, RegisterInput } from './ports/auth-provider';
export type {
  AgentOperations,
  AgentStatus,
  ChatOperations,
  EditInput,
  RegenerateInput,
  SendInput,
  SendOrigin,
  SendResult,
  StreamedEvent,
} from './ports/chat';
export { type Clock, systemClock } from './ports/clock';
export {
  AGENT_MODEL,
  type CompletionEvent,
  type CompletionFinish,
  type CompletionMessage,
  type CompletionModel,
  type CompletionOperations,
  type CompletionRequest,
  type CompletionStream,
  type CompletionUsage,
} from './ports/completions';
export type { ConversationRepository, ConversationSettings } from './ports/conversation-repository';
export type { DataRightsOperations } from './ports/data-rights';
export type { BudgetView, Grant, Ledger, ReserveRequest, UsageQuery, UsageTotals } from './ports/ledger';
export type { LettaAgentRecord, LettaAgentRepository } from './ports/letta-agent-repository';
export type {
  LlmClient,
  LlmImage,
  LlmMessage,
  LlmRequest,
  LlmStreamEvent,
  LlmTool,
  LlmToolCall,
} from './ports/llm-client';
export type {
  MemoryAuthor,
  MemoryVersionRepository,
  MemoryVersionWriter,
  NewVersion,
} from './ports/memory-version-repository';
export type { MessageRepository, TurnContext } from './ports/message-repository';
export type { RateLimitDecision, RateLimiter } from './ports/rate-limiter';
export { LocalRevocations, type Revocation, type Revocations } from './ports/revocations';
export type { RunEventHub } from './ports/run-event-hub';
export type {
  BranchConflict,
  BranchRunInput,
  FinishedRun,
  NewRun,
  RunRecord,
  RunRef,
  RunRepository,
  RunStart,
  StartedRun,
} from './ports/run-repository';
export type { RunSignals } from './ports/run-signals';
export type { SharedRunEvents } from './ports/shared-run-events';
export type { StreamCap, StreamCaps, StreamSlot, StreamSlots } from './ports/stream-slots';
export type { UserService } from './ports/user-service';
export { connectRedis, type RedisConnections } from './redis/redis-connections';
export { RedisRateLimiter } from './redis/redis-rate-limiter';
export { RedisRevocations } from './redis/redis-revocations';
export { RedisRunEvents, type RedisRunEventsOptions } from './redis/redis-run-events';
export { RedisStreamSlots, type RedisStreamSlotsOptions } from './redis/redis-stream-slots';
export * as attachmentSchema from './store/attachment-schema';
export { createDataDir, DataDirError } from './store/data-dir';
export { DataDirInUseError } from './store/data-dir-lock';
export { type Database, openStore, type Store, type StoreLocation } from './store/database';
export { StoreUnreachableError } from './store/errors';
export { migrateStore } from './store/migrate';
export { DrizzleAgentStore } from './store/repositories/agent-store';
export { DrizzleAttachmentStore } from './store/repositories/attachment-store';
export { DrizzleChatStore } from './store/repositories/chat-store';
export { DrizzleMemoryVersions } from './store/repositories/memory-versions';
export * as schema from './store/schema';
export { traceMethods, tracer } from './tracing/tracing';
export { type DataRightsOptions, DataRightsService } from './users/data-rights-service';
export { StoreUserService } from './users/user-service';
