export {
  createHearthClient,
  type EventSourceConstructor,
  type EventSourceInstance,
  type HearthClient,
  type HearthClientOptions,
} from './client';
export { type HearthError, isHearthError } from './errors';
export type { SessionListener } from './session-keeper';
export type {
  AppCode,
  AppRouter,
  AuthResult,
  HearthErrorData,
  RouterInputs,
  RouterOutputs,
  Session,
  User,
  UserProfile,
} from './types';
