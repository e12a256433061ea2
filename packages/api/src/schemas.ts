import { z } from 'zod';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Every string a client sends that may reach the store. PostgreSQL text cannot hold U+0000 (the
 * insert fails), and a lone surrogate half has no UTF-8 form (it would be stored as U+FFFD, so what
 * was read back would differ from what was sent): both are refused rather than altered.
 */
export const storedText = () =>
  z
    .string()
    .refine((value) => !value.includes('\u0000'), 'Text cannot contain the NUL character (U+0000).')
    .refine((value) => !LONE_SURROGATE.test(value), 'Text must be valid Unicode (it has a lone surrogate half).');

/** The contract's input rules (spec/api.md, "Sizes"). */
export const email = storedText()
  .trim()
  .pipe(z.email('Enter a valid email address.').max(254, 'An email address has at most 254 characters.'));

export const password = z
  .string()
  .min(8, 'A password has at least 8 characters.')
  .max(128, 'A password has at most 128 characters.');

export const displayName = storedText()
  .trim()
  .min(1, 'A display name has at least 1 character.')
  .max(80, 'A display name has at most 80 characters.');

export const registerInput = z.object({ email, password, displayName: displayName.optional() });
export const loginInput = z.object({
  email,
  // Login accepts any length up to the maximum: a rule added later must not lock out old accounts.
  password: z.string().min(1, 'Enter your password.').max(128, 'A password has at most 128 characters.'),
});
export const refreshInput = z.object({ refreshToken: storedText().min(1).max(512) });
export const emptyInput = z.object({}).optional();
export const updateProfileInput = z.object({ displayName: displayName.nullable() });

const id = (what: string) => z.uuid(`${what} must be a UUID.`);
const limit = (fallback: number) => z.number().int().min(1).max(100).default(fallback);
const cursor = storedText().min(1).max(512);
const title = storedText()
  .trim()
  .min(1, 'A title has at least 1 character.')
  .max(200, 'A title has at most 200 characters.');

const messageText = storedText()
  .max(32_000, 'A message has at most 32,000 characters.')
  .refine((text) => text.trim().length > 0, 'A message cannot be empty.');
const model = storedText().min(1).max(200);
/**
 * A file sent with a message, its bytes in base64. Only the shape is checked here; the count, the
 * size (ATTACHMENTS_MAX_COUNT, ATTACHMENTS_MAX_MB) and the type (by the bytes) are the service's.
 */
export const attachmentUpload = z.object({
  name: storedText()
    .trim()
    .min(1, 'An attachment needs a name.')
    .max(255, "An attachment's name has at most 255 characters."),
  type: storedText().max(200).describe("The file's media type, e.g. image/png, application/pdf, text/markdown."),
  data: z
    .string()
    .max(70_000_000, 'An attachment is at most 50 MB.')
    .describe("The file's bytes, base64 (standard alphabet)."),
});
export const sendInput = z.object({
  text: messageText,
  conversationId: id('conversationId').optional(),
  clientMessageId: id('clientMessageId').optional(),
  model: model.optional(),
  attachments: z
    .array(attachmentUpload)
    .max(20, 'At most 20 attachments.')
    .optional()
    .describe('Files sent with the message: images (to a vision model) and text-like files (their text).'),
});
export const attachmentInput = z.object({ id: id('id') });
/** The last answer (or the user message it answers) to write again. */
export const regenerateInput = z.object({ messageId: id('messageId'), model: model.optional() });
/** A user message to write anew (the same rules as chat.send's text), answered from there. */
export const editMessageInput = z.object({ messageId: id('messageId'), text: messageText, model: model.optional() });
export const switchBranchInput = z.object({ messageId: id('messageId') });
/** A model's name as `chat.models` lists it. */
const modelName = sendInput.shape.model.unwrap();
export const eventsInput = z.object({ runId: id('runId'), lastEventId: storedText().max(64).nullish() });
export const runInput = z.object({ runId: id('runId') });
export const historyInput = z
  .object({ conversationId: id('conversationId').optional(), cursor: cursor.optional(), limit: limit(50) })
  .default({ limit: 50 });
export const conversationsInput = z.object({ cursor: cursor.optional(), limit: limit(20) }).default({ limit: 20 });
export const createConversationInput = z.object({ title: title.optional(), model: modelName.optional() }).default({});
export const setConversationModelInput = z.object({
  conversationId: id('conversationId'),
  model: modelName.nullable().describe("The model to answer with; null: the server's default."),
});
export const setAgentModelInput = z.object({ model: modelName });
export const renameConversationInput = z.object({ conversationId: id('conversationId'), title });
export const conversationInput = z.object({ conversationId: id('conversationId') });

export const updateMemoryInput = z.object({
  label: storedText().min(1).max(64),
  // The block's own limit is checked by the agent (MEMORY_LIMIT); this only bounds the request.
  value: storedText().max(200_000),
});
export const resetInput = z.object({ scope: z.enum(['messages', 'memory', 'all']) });
export const memoryHistoryInput = z
  .object({ label: updateMemoryInput.shape.label.optional(), cursor: cursor.optional(), limit: limit(20) })
  .default({ limit: 20 });
export const revertMemoryInput = z.object({ versionId: id('versionId') });
export const archivalListInput = z
  .object({
    query: storedText().trim().min(1).max(200, 'A search has at most 200 characters.').optional(),
    cursor: cursor.optional(),
    limit: limit(50),
  })
  .default({ limit: 50 });
// A built-in passage's id is a UUID; a Letta passage's is `passage-<uuid>`.
export const archivalDeleteInput = z.object({
  id: z
    .string()
    .regex(/^(passage-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'id must be a passage id.'),
});

const usdAmount = z
  .number()
  .min(0, 'A budget cannot be negative.')
  .max(1_000_000, 'A budget is at most $1,000,000.')
  .refine((usd) => Math.abs(usd * 1_000_000 - Math.round(usd * 1_000_000)) < 1e-6, 'Money has at most 6 decimals.');

const groupBy = z.enum(['day', 'model']);
const fromNotAfterTo: [
  (q: { from?: Date | undefined; to?: Date | undefined }) => boolean,
  { message: string; path: string[] },
] = [(q) => !q.from || !q.to || q.from <= q.to, { message: '`from` must not be after `to`.', path: ['from'] }];

export const usageInput = z
  .object({ from: z.date().optional(), to: z.date().optional(), groupBy: groupBy.optional() })
  .refine(...fromNotAfterTo)
  .default({});
/** Deleting an account proves the password again, with login's rule for it. */
export const deleteAccountInput = z.object({ password: loginInput.shape.password });
export const setBudgetInput = z.object({
  limitUsd: usdAmount.nullable(),
  period: z.enum(['day', 'week', 'month', 'none']),
});

export const createApiKeyInput = z.object({
  name: storedText()
    .trim()
    .min(1, 'A key name has at least 1 character.')
    .max(100, 'A key name has at most 100 characters.'),
  // In the future: checked by the service against its clock, which tests move.
  expiresAt: z.date().optional(),
});
export const revokeApiKeyInput = z.object({ id: id('id') });

export const adminUsersInput = z
  .object({
    query: storedText().trim().max(200, 'A search has at most 200 characters.').optional(),
    cursor: cursor.optional(),
    limit: limit(50),
  })
  .default({ limit: 50 });
export const adminUserInput = z.object({ userId: id('userId') });
export const adminSetBudgetInput = z.object({
  userId: id('userId'),
  limitUsd: usdAmount.nullable(),
  period: z.enum(['day', 'week', 'month', 'none']),
});
export const adminUsageInput = z
  .object({
    from: z.date().optional(),
    to: z.date().optional(),
    groupBy: z.enum(['user', 'model', 'day']),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { message: '`from` must not be after `to`.', path: ['from'] });

/** The model that talks to the caller's personal agent (core's AGENT_MODEL). */
const AGENT_MODEL = 'hearth/agent';

const textPart = z.object({
  type: z.literal('text', 'Only text content parts are supported.'),
  text: storedText(),
});
const chatMessage = z.object({
  // `developer` is OpenAI's newer name for `system`. Tool messages need tools, which are not offered.
  role: z.enum(['system', 'developer', 'user', 'assistant'], 'role must be system, developer, user or assistant.'),
  content: z.union([storedText(), z.array(textPart).max(100)]).nullish(),
  name: storedText().max(64).optional(),
});

/**
 * POST /openai/v1/chat/completions, as OpenAI's clients send it. Sampling settings the model port
 * cannot pass on (temperature, top_p, …) are accepted and ignored, as many compatible servers do.
 */
export const chatCompletionInput = z
  .object({
    model: storedText().min(1, 'Name a model.').max(200),
    messages: z.array(chatMessage).min(1, 'Send at least one message.').max(2_000),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
    max_tokens: z.number().int().min(1).max(1_000_000).nullish(),
    max_completion_tokens: z.number().int().min(1).max(1_000_000).nullish(),
    n: z.literal(1, 'Only one choice (n: 1) is supported.').nullish(),
    tools: z.array(z.unknown()).max(0, 'Tools are not supported here.').nullish(),
  })
  .superRefine((body, ctx) => {
    if (body.model !== AGENT_MODEL) return;
    // The agent is sent the last user message as chat.send would be: the same rule for its text.
    const last = body.messages.findLastIndex((message) => message.role === 'user');
    const message = body.messages[last];
    const content =
      typeof message?.content === 'string' ? message.content : (message?.content ?? []).map((p) => p.text).join('');
    const checked = sendInput.shape.text.safeParse(content);
    if (last < 0 || !checked.success) {
      ctx.addIssue({
        code: 'custom',
        path: last < 0 ? ['messages'] : ['messages', last, 'content'],
        message:
          last < 0
            ? 'hearth/agent answers the last user message: send one.'
            : (checked.error?.issues[0]?.message ?? 'Not a valid message.'),
      });
    }
  });
export type ChatCompletionInput = z.infer<typeof chatCompletionInput>;
export const conversationIdHeader = id('X-Hearth-Conversation-Id');
/**
 * The same rules for a URL's query string (REST), where every value arrives as text: a number or
 * an ISO-8601 date and time is read from it, then checked by the rule tRPC's input uses.
 */
const fromText = <T extends z.ZodType>(rule: T, read: (text: string) => unknown) =>
  z.preprocess((value) => (typeof value === 'string' ? read(value) : value), rule);
const ISO_DATE_TIME = z.iso.datetime({ offset: true });
const readNumber = (text: string) => (text.trim() === '' ? text : Number(text));
const readDate = (text: string) => (ISO_DATE_TIME.safeParse(text).success ? new Date(text) : text);
const queryDate = () => fromText(z.date('Use an ISO-8601 date and time, e.g. 2026-01-31T00:00:00Z.'), readDate);

const historyFields = historyInput.unwrap();
export const historyQuery = historyFields.extend({ limit: fromText(historyFields.shape.limit, readNumber) });
const conversationsFields = conversationsInput.unwrap();
export const conversationsQuery = conversationsFields.extend({
  limit: fromText(conversationsFields.shape.limit, readNumber),
});
const memoryHistoryFields = memoryHistoryInput.unwrap();
export const memoryHistoryQuery = memoryHistoryFields.extend({
  limit: fromText(memoryHistoryFields.shape.limit, readNumber),
});
const archivalListFields = archivalListInput.unwrap();
export const archivalListQuery = archivalListFields.extend({
  limit: fromText(archivalListFields.shape.limit, readNumber),
});
export const usageQuery = z
  .object({ from: queryDate().optional(), to: queryDate().optional(), groupBy: groupBy.optional() })
  .refine(...fromNotAfterTo);

/** REST's body for auth.createApiKey: JSON has no dates, so `expiresAt` comes as ISO-8601 text. */
export const createApiKeyBody = createApiKeyInput.extend({ expiresAt: queryDate().optional() });

/** REST's query forms of the admin inputs: numbers and dates arrive as text. */
const adminUsersFields = adminUsersInput.unwrap();
export const adminUsersQuery = adminUsersFields.extend({ limit: fromText(adminUsersFields.shape.limit, readNumber) });
export const adminUsageQuery = z
  .object({ from: queryDate().optional(), to: queryDate().optional(), groupBy: z.enum(['user', 'model', 'day']) })
  .refine(...fromNotAfterTo);
export const adminBudgetBody = adminSetBudgetInput.omit({ userId: true });
