import type { AppCode, ClientRouter as AppRouter, HearthErrorData } from '@hearth/api';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';

export type { AppCode, AppRouter, HearthErrorData };

/** Every procedure's input, by router and name: `RouterInputs['auth']['login']`. */
export type RouterInputs = inferRouterInputs<AppRouter>;
/** Every procedure's output, by router and name: `RouterOutputs['auth']['me']`. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;

export type User = RouterOutputs['auth']['me'];
export type Session = RouterOutputs['auth']['refresh']['session'];
export type AuthResult = RouterOutputs['auth']['login'];
export type UserProfile = RouterOutputs['user']['profile'];
/** A personal API key as listed: never the key itself. */
export type ApiKey = RouterOutputs['auth']['listApiKeys']['apiKeys'][number];
/** What `auth.createApiKey` returns: the key's metadata and, this once, the key. */
export type CreatedApiKey = RouterOutputs['auth']['createApiKey'];
export type Message = RouterOutputs['chat']['send']['userMessage'];
/** What `chat.send`, `chat.regenerate` and `chat.editMessage` return: follow `runId` with `chat.events`. */
export type SendResult = RouterOutputs['chat']['send'];
/** A message as `chat.history` lists it: with `siblingIds`, every version of its point of the conversation. */
export type HistoryMessage = RouterOutputs['chat']['history']['messages'][number];
export type Conversation = RouterOutputs['chat']['createConversation'];
/** A model the server offers (`chat.models`): window, output cap, prices per million tokens, the default. */
export type ModelInfo = RouterOutputs['chat']['models']['models'][number];
/** A file for `chat.send`'s `attachments`: its name, media type and bytes in base64. */
export type AttachmentUpload = NonNullable<RouterInputs['chat']['send']['attachments']>[number];
/** An attachment as a message lists it (`chat.history`, `chat.send`'s `userMessage`). */
export type AttachmentInfo = NonNullable<HistoryMessage['attachments']>[number];
/** One attachment with its content (`chat.attachment`). */
export type Attachment = RouterOutputs['chat']['attachment'];
export type MemoryBlock = RouterOutputs['agent']['updateMemory'];
export type MemoryVersion = RouterOutputs['agent']['memoryHistory']['versions'][number];
export type ArchivalPassage = RouterOutputs['agent']['archival']['list']['passages'][number];
export type AgentStatus = RouterOutputs['agent']['status'];
export type RunStatus = RouterOutputs['chat']['cancel']['status'];
/** One event of `chat.events` as delivered: `id` (pass it back as `lastEventId` to resume) and `data`. */
export type TrackedRunEvent = RouterOutputs['chat']['events'] extends AsyncIterable<infer E> ? E : never;
export type RunEvent = TrackedRunEvent['data'];
export type Usage = Extract<RunEvent, { type: 'run.completed' }>['usage'];
/** One account as an operator sees it (`admin.users`). */
export type AdminUserSummary = RouterOutputs['admin']['users']['items'][number];
export type AdminUserDetails = RouterOutputs['admin']['user'];
export type AdminUsage = RouterOutputs['admin']['usage'];
export type AdminHealth = RouterOutputs['admin']['health'];
