import { z } from '@hono/zod-openapi';

/**
 * What REST answers, as JSON: the services' results with every Date as an ISO-8601 string (which
 * is what JSON.stringify writes). Handlers return the services' values as they are; the type check
 * of each route holds them to these shapes, and the tests hold the server to the document.
 */
const isoDate = z.iso.datetime({ offset: true });
// `.nullable()` on a named schema becomes `allOf: [$ref, {type: [object, null]}]`, which null fails.
const orNull = <T extends z.ZodType>(schema: T) => z.union([schema, z.null()]);

const user = z
  .object({
    id: z.string(),
    email: z.string(),
    displayName: z.string().nullable(),
    role: z.enum(['user', 'admin']),
    createdAt: isoDate,
  })
  .openapi('User');
export const userSchema = user;
export const profileSchema = user.extend({ agentId: z.string().nullable() }).openapi('UserProfile');

const session = z
  .object({
    accessToken: z.string(),
    refreshToken: z.string(),
    tokenType: z.literal('bearer'),
    expiresAt: isoDate,
  })
  .openapi('Session');
export const authResultSchema = z.object({ user, session }).openapi('AuthResult');
export const refreshResultSchema = z.object({ session });
export const okSchema = z.object({ ok: z.literal(true) });

const apiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string(),
    createdAt: isoDate,
    lastUsedAt: isoDate.nullable(),
    expiresAt: isoDate.nullable(),
  })
  .openapi('ApiKey');
export const apiKeyListSchema = z.object({ apiKeys: z.array(apiKey) });
export const createdApiKeySchema = apiKey
  .extend({ key: z.string().describe('The whole key, shown this once: store it now.') })
  .openapi('CreatedApiKey');

const usage = z.object({ promptTokens: z.number(), completionTokens: z.number(), costUsd: z.number() });
const attachmentInfo = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.string().describe('The media type its bytes were sniffed as.'),
    size: z.number().describe('Bytes.'),
    kind: z
      .enum(['image', 'text'])
      .describe('image: sent to the model as an image; text: its text put into the context.'),
    truncated: z.boolean().describe('Its text was cut to the per-message token limit.'),
  })
  .openapi('AttachmentInfo');
export const attachmentSchema = attachmentInfo
  .extend({
    messageId: z.string(),
    createdAt: isoDate,
    text: z
      .string()
      .nullable()
      .describe('The text put into the context (a PDF: its extracted text); null for an image.'),
    data: z.string().describe('The original bytes, base64.'),
  })
  .openapi('Attachment');
const message = z
  .object({
    id: z.string(),
    conversationId: z.string(),
    parentId: z
      .string()
      .nullable()
      .describe(
        'The message this one follows (an answer: the user message it answers); null for the first. ' +
          'Messages with one parent are versions of each other: an edit, a regenerated answer.',
      ),
    role: z.enum(['user', 'assistant']),
    content: z.string(),
    status: z.enum(['complete', 'incomplete', 'failed']),
    createdAt: isoDate,
    usage: usage.nullable(),
    attachments: z.array(attachmentInfo).optional().describe('The files sent with a user message.'),
  })
  .openapi('Message');
const historyMessage = message
  .extend({
    siblingIds: z
      .array(z.string())
      .describe('Every version of this point of the conversation, this one included, oldest first.'),
  })
  .openapi('HistoryMessage');
export const conversationSchema = z
  .object({
    id: z.string(),
    title: z.string().nullable(),
    model: z.string().nullable().describe("The model it answers with; null: the server's default."),
    createdAt: isoDate,
    lastActiveAt: isoDate,
    messageCount: z.number(),
  })
  .openapi('Conversation');
const modelInfo = z
  .object({
    id: z.string(),
    contextWindow: z.number(),
    maxOutputTokens: z.number().nullable().describe('null when the price map does not say.'),
    inputUsdPerMillionTokens: z.number(),
    outputUsdPerMillionTokens: z.number(),
    supportsVision: z.boolean().describe('Reads images: image attachments go only to such a model.'),
    default: z.boolean().describe('Used when neither the send nor the conversation names a model.'),
  })
  .openapi('ModelInfo');
export const modelsSchema = z.object({ models: z.array(modelInfo) });
const memoryBlock = z
  .object({
    label: z.string(),
    value: z.string(),
    limit: z.number(),
    description: z.string(),
    updatedAt: isoDate,
    updatedBy: z.enum(['user', 'agent', 'system']),
  })
  .openapi('MemoryBlock');
export const memoryBlockSchema = memoryBlock;
const memoryVersion = z
  .object({
    id: z.string(),
    label: z.string(),
    value: z.string(),
    previousValue: z.string().nullable(),
    updatedBy: z.enum(['user', 'agent', 'system']),
    runId: z
      .string()
      .nullable()
      .describe('The run in which the agent made the change; null for the user and the system.'),
    messageId: z.string().nullable().describe('The user message that run answered.'),
    createdAt: isoDate,
  })
  .openapi('MemoryVersion');
export const memoryHistorySchema = z.object({ versions: z.array(memoryVersion), nextCursor: z.string().nullable() });
const archivalPassage = z
  .object({ id: z.string(), content: z.string(), tags: z.array(z.string()), createdAt: isoDate })
  .openapi('ArchivalPassage');
export const archivalPageSchema = z.object({ passages: z.array(archivalPassage), nextCursor: z.string().nullable() });
export const revertedMemorySchema = z.object({ block: memoryBlock, version: memoryVersion });

export const sendResultSchema = z
  .object({ runId: z.string(), conversationId: z.string(), userMessage: message })
  .openapi('SendResult');
export const cancelResultSchema = z.object({
  runId: z.string(),
  status: z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']),
});
export const historySchema = z.object({ messages: z.array(historyMessage), nextCursor: z.string().nullable() });
export const switchedBranchSchema = z.object({
  conversationId: z.string(),
  leafId: z.string().describe('The newest message of the branch now shown'),
});
export const conversationsSchema = z.object({
  conversations: z.array(conversationSchema),
  nextCursor: z.string().nullable(),
});

/** The `data` of each SSE event: the run event, whose `type` is also the SSE `event` field. */
export const runEventSchema = z
  .discriminatedUnion('type', [
    z.object({
      type: z.literal('run.started'),
      runId: z.string(),
      conversationId: z.string(),
      model: z.string(),
      userMessageId: z.string(),
    }),
    z.object({ type: z.literal('reasoning.delta'), text: z.string() }),
    z.object({ type: z.literal('text.delta'), text: z.string() }),
    z.object({ type: z.literal('tool.call'), callId: z.string(), name: z.string(), arguments: z.unknown() }),
    z.object({
      type: z.literal('tool.result'),
      callId: z.string(),
      name: z.string(),
      ok: z.boolean(),
      result: z.unknown(),
    }),
    z.object({ type: z.literal('memory.updated'), block: memoryBlock, versionId: z.string() }),
    usage.extend({ type: z.literal('usage') }),
    z.object({ type: z.literal('conversation.updated'), conversation: conversationSchema }),
    z.object({ type: z.literal('run.completed'), message, usage }),
    z.object({
      type: z.literal('run.failed'),
      appCode: z.string(),
      message: z.string(),
      retryable: z.boolean(),
      partial: orNull(message),
    }),
    z.object({ type: z.literal('run.cancelled'), partial: orNull(message) }),
  ])
  .openapi('RunEvent');

export const eventStreamDescription =
  'Server-sent events, one per run event: `id: <event id>` (send it back as `Last-Event-ID` to resume), ' +
  '`event: <type>` and `data: <RunEvent as JSON>` (see the RunEvent schema). The stream ends after ' +
  '`run.completed`, `run.failed` or `run.cancelled`; comment lines (`: ping`) keep it open while the run is quiet.';

const budget = z.object({
  limitUsd: z.number().nullable(),
  ceilingUsd: z.number().nullable(),
  period: z.enum(['day', 'week', 'month', 'none']),
  spentUsd: z.number(),
  reservedUsd: z.number(),
  remainingUsd: z.number().nullable(),
  periodStart: isoDate,
  resetsAt: isoDate.nullable(),
});
export const budgetSchema = budget.openapi('Budget');
const totals = z.object({
  requests: z.number(),
  promptTokens: z.number(),
  completionTokens: z.number(),
  costUsd: z.number(),
});
export const usageReportSchema = z.object({ totals, buckets: z.array(totals.extend({ key: z.string() })) });
export const healthSchema = z.object({
  status: z.enum(['ok', 'degraded', 'blocked']),
  budget: budget.extend({ exceeded: z.boolean() }),
  agent: z.object({ ready: z.boolean(), backend: z.enum(['builtin', 'letta']) }),
  llm: z.object({ model: z.string(), reachable: z.boolean().nullable(), demo: z.boolean() }),
  activeRuns: z.number(),
});

export const agentStatusSchema = z.object({
  agentId: z.string(),
  backend: z.enum(['builtin', 'letta']),
  model: z.string(),
  createdAt: isoDate,
  lastActiveAt: isoDate,
  messageCount: z.number(),
  memory: z.object({ blocks: z.number(), chars: z.number() }),
  activeRunIds: z.array(z.string()),
});
export const memorySchema = z.object({ blocks: z.array(memoryBlock) });

const period = z.enum(['day', 'week', 'month', 'none']);
const adminUserFields = {
  id: z.string(),
  email: z.string(),
  displayName: z.string().nullable(),
  role: z.enum(['user', 'admin']),
  status: z.enum(['active', 'disabled']),
  createdAt: isoDate,
  lastActiveAt: isoDate.nullable(),
};
export const adminUserListSchema = z.object({
  items: z.array(
    z
      .object({
        ...adminUserFields,
        budget: z.object({
          limitUsd: z.number().nullable(),
          operatorLimitUsd: z.number().nullable(),
          operatorSet: z.boolean(),
          ownLimitUsd: z.number().nullable(),
          period,
          spentUsd: z.number(),
        }),
      })
      .openapi('AdminUserSummary'),
  ),
  nextCursor: z.string().nullable(),
});
export const adminUserDetailsSchema = z
  .object({
    ...adminUserFields,
    disabledAt: isoDate.nullable(),
    budget: budget.extend({ operatorSet: z.boolean(), ownLimitUsd: z.number().nullable() }),
    counts: z.object({
      conversations: z.number(),
      messages: z.number(),
      activeRuns: z.number(),
      liveSessions: z.number(),
      apiKeys: z.number(),
    }),
  })
  .openapi('AdminUserDetails');
export const adminStatusChangeSchema = z.object({
  userId: z.string(),
  status: z.enum(['active', 'disabled']),
  cancelledRuns: z.number().optional(),
});
export const adminUsageSchema = z.object({
  totals,
  buckets: z.array(totals.extend({ key: z.string(), email: z.string().optional() })),
});
export const adminHealthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), latencyMs: z.number() })),
  users: z.object({ total: z.number(), admins: z.number(), disabled: z.number() }),
  activeRuns: z.number(),
  reservations: z.object({ count: z.number(), amountUsd: z.number() }),
  uptimeSeconds: z.number(),
});

const exportedMessage = z.object({
  id: z.string(),
  seq: z.number(),
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  status: z.enum(['complete', 'incomplete', 'failed']),
  runId: z.string().nullable(),
  promptTokens: z.number().nullable(),
  completionTokens: z.number().nullable(),
  costUsd: z.number().nullable(),
  createdAt: isoDate,
});
/** GET /user/export: the whole document, as it is streamed. */
export const userExportSchema = z
  .object({
    format: z.literal('hearth.user-export/1'),
    exportedAt: isoDate,
    profile: z.object({
      id: z.string(),
      email: z.string(),
      displayName: z.string().nullable(),
      role: z.enum(['user', 'admin']),
      createdAt: isoDate,
      disabledAt: isoDate.nullable(),
    }),
    memory: z.object({
      blocks: z.array(
        z.object({
          label: z.string(),
          value: z.string(),
          description: z.string(),
          updatedAt: isoDate,
          updatedBy: z.enum(['user', 'agent', 'system']),
        }),
      ),
      history: z.array(memoryVersion),
      archival: z.array(archivalPassage),
    }),
    conversations: z.array(
      z.object({
        id: z.string(),
        title: z.string().nullable(),
        isDefault: z.boolean(),
        createdAt: isoDate,
        lastActiveAt: isoDate,
        messages: z.array(exportedMessage),
      }),
    ),
    usage: z.array(
      z.object({
        id: z.string(),
        runId: z.string().nullable(),
        model: z.string(),
        promptTokens: z.number(),
        completionTokens: z.number(),
        costUsd: z.number(),
        createdAt: isoDate,
      }),
    ),
    attachments: z.array(attachmentSchema).describe('Every file sent with a message, with its bytes (base64).'),
  })
  .openapi('UserExport');
