import type { StreamedEvent } from '@hearth/core';
import type { TRPCRouterRecord } from '@trpc/server';
import { tracked } from '@trpc/server';
import {
  attachmentInput,
  conversationInput,
  conversationsInput,
  createConversationInput,
  editMessageInput,
  eventsInput,
  historyInput,
  regenerateInput,
  renameConversationInput,
  runInput,
  sendInput,
  setConversationModelInput,
  switchBranchInput,
} from '../schemas';
import { authedProcedure } from '../trpc';
import { sharedWireForm } from '../wire-form';

// The hub hands every subscriber the same event object: its wire form is computed once for all.
async function* asTracked(events: AsyncIterable<StreamedEvent>) {
  for await (const { id, event } of events) yield tracked(id, sharedWireForm(event));
}

export const chatProcedures = {
  send: authedProcedure
    .input(sendInput)
    .mutation(({ ctx, input }) => ctx.deps.chat.send(ctx.user, input, { requestId: ctx.requestId })),

  regenerate: authedProcedure
    .input(regenerateInput)
    .mutation(({ ctx, input }) => ctx.deps.chat.regenerate(ctx.user, input, { requestId: ctx.requestId })),

  editMessage: authedProcedure
    .input(editMessageInput)
    .mutation(({ ctx, input }) => ctx.deps.chat.editMessage(ctx.user, input, { requestId: ctx.requestId })),

  switchBranch: authedProcedure
    .input(switchBranchInput)
    .mutation(({ ctx, input }) => ctx.deps.chat.switchBranch(ctx.user, input.messageId)),

  // Not a generator: ownership, lastEventId and the open-stream caps are checked before the stream
  // opens, so NOT_FOUND, INVALID_INPUT or RATE_LIMITED is a plain HTTP error (see
  // sse/chat-events-route.ts) that no client retries, not a stream event.
  events: authedProcedure.input(eventsInput).subscription(async ({ ctx, input, signal }) => {
    const events = await ctx.deps.chat.events(
      ctx.user,
      input.runId,
      input.lastEventId,
      signal ?? new AbortController().signal,
    );
    return asTracked(events);
  }),

  cancel: authedProcedure.input(runInput).mutation(({ ctx, input }) => ctx.deps.chat.cancel(ctx.user, input.runId)),

  history: authedProcedure.input(historyInput).query(({ ctx, input }) => ctx.deps.chat.history(ctx.user, input)),

  conversations: authedProcedure
    .input(conversationsInput)
    .query(({ ctx, input }) => ctx.deps.chat.conversations(ctx.user, input)),

  models: authedProcedure.query(({ ctx }) => ctx.deps.chat.models(ctx.user)),

  attachment: authedProcedure
    .input(attachmentInput)
    .query(({ ctx, input }) => ctx.deps.attachments.attachment(ctx.user, input.id)),

  createConversation: authedProcedure
    .input(createConversationInput)
    .mutation(({ ctx, input }) => ctx.deps.chat.createConversation(ctx.user, input)),

  setConversationModel: authedProcedure
    .input(setConversationModelInput)
    .mutation(({ ctx, input }) => ctx.deps.chat.setConversationModel(ctx.user, input.conversationId, input.model)),

  renameConversation: authedProcedure
    .input(renameConversationInput)
    .mutation(({ ctx, input }) => ctx.deps.chat.renameConversation(ctx.user, input.conversationId, input.title)),

  deleteConversation: authedProcedure.input(conversationInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.chat.deleteConversation(ctx.user, input.conversationId);
    return { ok: true as const };
  }),
} satisfies TRPCRouterRecord;
