import type { AppCode, AppRouter, HearthErrorData } from '@hearth/api';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';

export type { AppCode, AppRouter, HearthErrorData };

/** Every procedure's input, by router and name: `RouterInputs['auth']['login']`. */
export type RouterInputs = inferRouterInputs<AppRouter>;
/** Every procedure's output, by router and name: `RouterOutputs['auth']['me']`. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;

export type User = RouterOutputs['auth']['me'];
export type Session = RouterOutputs['auth']['refresh']['session'];
export type AuthResult = RouterOutputs['auth']['login'];
export type UserProfile = RouterOutputs['user']['profile'];
