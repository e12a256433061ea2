import { adminRouter } from './routers/admin';
import { agentRouter } from './routers/agent';
import { authRouter } from './routers/auth';
import { chatRouter } from './routers/chat';
import { userRouter } from './routers/user';
import { router } from './trpc';

export const appRouter = router({
  auth: authRouter,
  chat: chatRouter,
  agent: agentRouter,
  user: userRouter,
  admin: adminRouter,
});

export type AppRouter = typeof appRouter;
