import type { TRPCRouterRecord } from '@trpc/server';
import { deleteAccountInput, setBudgetInput, updateProfileInput, usageInput } from '../schemas';
import { authedProcedure } from '../trpc';

export const userProcedures = {
  profile: authedProcedure.query(({ ctx }) => ctx.deps.users.profile(ctx.user)),

  updateProfile: authedProcedure
    .input(updateProfileInput)
    .mutation(({ ctx, input }) => ctx.deps.users.updateProfile(ctx.user, input)),

  usage: authedProcedure.input(usageInput).query(({ ctx, input }) => ctx.deps.account.usage(ctx.user, input)),

  budget: authedProcedure.query(({ ctx }) => ctx.deps.account.budget(ctx.user)),

  setBudget: authedProcedure
    .input(setBudgetInput)
    .mutation(({ ctx, input }) => ctx.deps.account.setBudget(ctx.user, input)),

  health: authedProcedure.query(({ ctx }) => ctx.deps.account.health(ctx.user)),

  // user.exportData is the document GET /api/v1/user/export streams (the SDK's user.exportData()):
  // a tRPC answer is one JSON value built whole in memory.
  deleteAccount: authedProcedure.input(deleteAccountInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.dataRights.deleteAccount(ctx.user, input.password, ctx.client);
    return { ok: true as const };
  }),
} satisfies TRPCRouterRecord;
