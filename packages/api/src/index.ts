export type { AppCode } from '@hearth/core';
export { type AppOptions, createApp } from './app';
export type { ApiContext, ApiDeps, ApiLogger, AuthedContext } from './context';
export type { HearthErrorData } from './errors';
export { MAX_BATCH_SIZE } from './http/batch-rules';
export { clientAddressResolver, type ProxyTrust, parseProxyTrust } from './http/client-address';
export type { ReadinessCheck } from './http/readiness';
export { type AppRouter, appRouter, type ClientRouter } from './router';
export { createCallerFactory } from './trpc';
