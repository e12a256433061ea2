export type { AppCode } from '@hearth/core';
export { type AppOptions, createApp } from './app';
export type { ApiContext, ApiDeps, ApiLogger, AuthedContext } from './context';
export type { HearthErrorData } from './errors';
export type { ReadinessCheck } from './http/readiness';
export { type AppRouter, appRouter } from './router';
export { createCallerFactory } from './trpc';
