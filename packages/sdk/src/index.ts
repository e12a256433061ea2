export {
  createHearthClient,
  type EventSourceConstructor,
  type EventSourceInstance,
  type HearthClient,
  type HearthClientOptions,
} from './client';
export { type HearthError, isHearthError } from './errors';
export type { StreamRunOptions } from './run-stream';
export { restoreSession, type SessionListener, type StoredSession } from './session-keeper';
export type {
  AdminHealth,
  AdminUsage,
  AdminUserDetails,
  AdminUserSummary,
  AgentStatus,
  ApiKey,
  AppCode,
  AppRouter,
  ArchivalPassage,
  AuthResult,
  Conversation,
  CreatedApiKey,
  HearthErrorData,
  HistoryMessage,
  MemoryBlock,
  MemoryVersion,
  Message,
  RouterInputs,
  RouterOutputs,
  RunEvent,
  RunStatus,
  SendResult,
  Session,
  TrackedRunEvent,
  Usage,
  User,
  UserProfile,
} from './types';
