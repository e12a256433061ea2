import type { TRPCRouterRecord } from '@trpc/server';
import { adminSetBudgetInput, adminUsageInput, adminUserInput, adminUsersInput } from '../schemas';
import { adminProcedure } from '../trpc';

export const adminProcedures = {
  users: adminProcedure.input(adminUsersInput).query(({ ctx, input }) => ctx.deps.admin.users(input)),

  user: adminProcedure.input(adminUserInput).query(({ ctx, input }) => ctx.deps.admin.user(input.userId)),

  setBudget: adminProcedure.input(adminSetBudgetInput).mutation(({ ctx, input }) => ctx.deps.admin.setBudget(input)),

  disableUser: adminProcedure
    .input(adminUserInput)
    .mutation(({ ctx, input }) => ctx.deps.admin.disableUser(input.userId, ctx.user.id)),

  enableUser: adminProcedure
    .input(adminUserInput)
    .mutation(({ ctx, input }) => ctx.deps.admin.enableUser(input.userId)),

  usage: adminProcedure.input(adminUsageInput).query(({ ctx, input }) => ctx.deps.admin.usage(input)),

  health: adminProcedure.query(({ ctx }) => ctx.deps.admin.health()),
} satisfies TRPCRouterRecord;
