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
  AgentStatus,
  AppCode,
  AppRouter,
  AuthResult,
  Conversation,
  HearthErrorData,
  MemoryBlock,
  Message,
  RouterInputs,
  RouterOutputs,
  RunEvent,
  RunStatus,
  Session,
  TrackedRunEvent,
  Usage,
  User,
  UserProfile,
} from './types';
