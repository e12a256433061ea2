import type { TRPCRouterRecord } from '@trpc/server';
import {
  archivalDeleteInput,
  archivalListInput,
  memoryHistoryInput,
  resetInput,
  revertMemoryInput,
  setAgentModelInput,
  updateMemoryInput,
} from '../schemas';
import { authedProcedure } from '../trpc';

export const agentProcedures = {
  status: authedProcedure.query(({ ctx }) => ctx.deps.agent.status(ctx.user)),

  setModel: authedProcedure
    .input(setAgentModelInput)
    .mutation(({ ctx, input }) => ctx.deps.agent.setModel(ctx.user, input.model)),

  memory: authedProcedure.query(({ ctx }) => ctx.deps.agent.memory(ctx.user)),

  updateMemory: authedProcedure
    .input(updateMemoryInput)
    .mutation(({ ctx, input }) => ctx.deps.agent.updateMemory(ctx.user, input.label, input.value)),

  memoryHistory: authedProcedure
    .input(memoryHistoryInput)
    .query(({ ctx, input }) => ctx.deps.agent.memoryHistory(ctx.user, input)),

  revertMemory: authedProcedure
    .input(revertMemoryInput)
    .mutation(({ ctx, input }) => ctx.deps.agent.revertMemory(ctx.user, input.versionId)),

  reset: authedProcedure.input(resetInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.agent.reset(ctx.user, input.scope);
    return { ok: true as const };
  }),

  /** What the agent filed in archival memory, for the user to read and remove. */
  archival: {
    list: authedProcedure.input(archivalListInput).query(({ ctx, input }) => ctx.deps.agent.archival(ctx.user, input)),

    delete: authedProcedure.input(archivalDeleteInput).mutation(async ({ ctx, input }) => {
      await ctx.deps.agent.deleteArchival(ctx.user, input.id);
      return { ok: true as const };
    }),
  },
} satisfies TRPCRouterRecord;
