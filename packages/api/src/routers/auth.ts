import type { TRPCRouterRecord } from '@trpc/server';
import { emptyInput, loginInput, refreshInput, registerInput } from '../schemas';
import { authedProcedure, publicProcedure } from '../trpc';

export const authProcedures = {
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
} satisfies TRPCRouterRecord;
