import { createApiKeyInput, emptyInput, loginInput, refreshInput, registerInput, revokeApiKeyInput } from '../schemas';
import { authedProcedure, publicProcedure, router } from '../trpc';

export const authRouter = router({
  register: publicProcedure
    .input(registerInput)
    .mutation(({ ctx, input }) => ctx.deps.auth.register(input, ctx.client)),

  login: publicProcedure.input(loginInput).mutation(({ ctx, input }) => ctx.deps.auth.login(input, ctx.client)),

  refresh: publicProcedure
    .input(refreshInput)
    .mutation(({ ctx, input }) => ctx.deps.auth.refresh(input.refreshToken, ctx.client)),

  logout: authedProcedure.input(emptyInput).mutation(async ({ ctx }) => {
    await ctx.deps.auth.logout(ctx.user, ctx.accessToken);
    return { ok: true as const };
  }),

  me: authedProcedure.query(({ ctx }) => ctx.deps.users.me(ctx.user)),

  createApiKey: authedProcedure
    .input(createApiKeyInput)
    .mutation(({ ctx, input }) => ctx.deps.apiKeys.create(ctx.user, input)),

  listApiKeys: authedProcedure.query(({ ctx }) => ctx.deps.apiKeys.list(ctx.user)),

  revokeApiKey: authedProcedure.input(revokeApiKeyInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.apiKeys.revoke(ctx.user, input.id);
    return { ok: true as const };
  }),
});
