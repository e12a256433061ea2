import type { TRPCBuiltRouter, TRPCDecorateCreateRouterOptions, TRPCDefaultErrorShape } from '@trpc/server';
import { agentProcedures } from './routers/agent';
import { authProcedures } from './routers/auth';
import { chatProcedures } from './routers/chat';
import { userProcedures } from './routers/user';
import { router } from './trpc';

// Namespaces are plain records of procedures rather than routers of their own: a procedure's type
// names only its input, output and meta, while a router's names the server's context (ApiDeps, the
// ports behind it). So ClientRouter below can be written without that context.
const procedures = {
  auth: authProcedures,
  chat: chatProcedures,
  agent: agentProcedures,
  user: userProcedures,
};

export const appRouter = router(procedures);

export type AppRouter = typeof appRouter;

/**
 * The router as a client sees it: the same procedures and error shape, with none of the server's
 * context, so the SDK's published types carry none of the server's ports or adapters.
 */
export type ClientRouter = TRPCBuiltRouter<
  { ctx: object; meta: object; errorShape: TRPCDefaultErrorShape; transformer: true },
  TRPCDecorateCreateRouterOptions<typeof procedures>
>;

type ServerRoot = AppRouter['_def']['_config']['$types'];
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// Does not compile once the server's error shape or transformer drifts from ClientRouter's.
void (true satisfies Same<ServerRoot['errorShape'], TRPCDefaultErrorShape> & Same<ServerRoot['transformer'], true>);
