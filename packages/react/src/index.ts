export { type Budget, type Health, type UsageReport, useAccount, useBudget, useHealth, useUsage } from './account';
export { type AuthStatus, type UseAuthResult, useAuth, useSession } from './auth';
export {
  type ChatMessage,
  type ChatStatus,
  fileToAttachment,
  RunFailedError,
  type SendOptions,
  type UseChatOptions,
  type UseChatResult,
  useChat,
} from './chat';
export { type HearthContextValue, useHearth, useTRPC } from './context';
export { type UseConversationsResult, useConversations } from './conversations';
export { type UseMemoryHistoryResult, type UseMemoryResult, useMemory, useMemoryHistory } from './memory';
export { effectiveModel, type ModelInfo, type UseModelsResult, useModels } from './models';
export { HearthProvider, type HearthProviderProps } from './provider';
export { defaultStorage, type HearthStorage, memoryStorage } from './storage';
