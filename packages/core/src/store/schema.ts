import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  customType,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { BUDGET_PERIODS } from '../domain/budget';

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

/** Hearth's view of a person; with Supabase Auth its id is `auth.users.id`. */
export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey(),
    email: text('email').notNull().unique(),
    displayName: text('display_name'),
    role: text('role', { enum: ['user', 'admin'] })
      .notNull()
      .default('user'),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    /** Set by an operator: every session, refresh token and API key of the user is refused meanwhile. */
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
  },
  (t) => [check('users_role_check', sql`${t.role} in ('user', 'admin')`)],
);

/** Password hashes of the built-in auth provider, apart from the profile so they are never selected by accident. */
export const credentials = pgTable('credentials', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  passwordHash: text('password_hash').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** A login on one device: its refresh tokens rotate inside it, and revoking it ends them all. */
export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    refreshedAt: timestamp('refreshed_at', { withTimezone: true }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    revokedReason: text('revoked_reason', { enum: ['logout', 'refresh_token_reuse'] }),
    userAgent: text('user_agent'),
    ip: text('ip'),
  },
  (t) => [index('sessions_user_id_idx').on(t.userId)],
);

/** Only the SHA-256 of a refresh token is kept: a leaked table cannot be replayed. */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (t) => [index('refresh_tokens_session_id_idx').on(t.sessionId)],
);

/** One personal agent per user, created on first use. */
export const agents = pgTable('agents', {
  id: uuid('id').primaryKey(),
  userId: uuid('user_id')
    .notNull()
    .unique()
    .references(() => users.id, { onDelete: 'cascade' }),
  model: text('model').notNull(),
  createdAt: createdAt(),
  lastActiveAt: timestamp('last_active_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Core memory: labelled blocks always compiled into the agent's system prompt. */
export const memoryBlocks = pgTable(
  'memory_blocks',
  {
    agentId: uuid('agent_id')
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    label: text('label').notNull(),
    value: text('value').notNull(),
    charLimit: integer('char_limit').notNull(),
    description: text('description').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    updatedBy: text('updated_by', { enum: ['user', 'agent', 'system'] }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.agentId, t.label] })],
);

export const conversations = pgTable(
  'conversations',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    title: text('title'),
    /** The model the conversation answers with; null: the server's default (the first of LLM_MODELS). */
    model: text('model'),
    isDefault: boolean('is_default').notNull().default(false),
    createdAt: createdAt(),
    lastActiveAt: timestamp('last_active_at', { withTimezone: true }).notNull().defaultNow(),
    messageCount: integer('message_count').notNull().default(0),
    /**
     * The newest message of the branch the conversation shows and answers from (see messages.parentId);
     * null while it has none. Not a foreign key: only the conversation's own messages are ever put here.
     */
    leafMessageId: uuid('leaf_message_id'),
  },
  (t) => [
    index('conversations_user_active_idx').on(t.userId, t.lastActiveAt),
    uniqueIndex('conversations_one_default_idx').on(t.userId).where(sql`${t.isDefault}`),
  ],
);

/**
 * Every value a core memory block has had, newest last: who wrote it (for the agent, the run and the
 * user message that caused it), when, and the value it replaced. Keyed by user, not agent, so both
 * backends keep it here (a Letta agent has no row of its own). Run and message ids are not foreign
 * keys: deleting a conversation leaves the memory's history as it was.
 */
export const memoryVersions = pgTable(
  'memory_versions',
  {
    id: uuid('id').primaryKey(),
    seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    label: text('label').notNull(),
    value: text('value').notNull(),
    previousValue: text('previous_value'),
    author: text('author', { enum: ['user', 'agent', 'system'] }).notNull(),
    runId: uuid('run_id'),
    messageId: uuid('message_id'),
    createdAt: createdAt(),
  },
  (t) => [
    index('memory_versions_user_seq_idx').on(t.userId, t.seq),
    index('memory_versions_user_label_seq_idx').on(t.userId, t.label, t.seq),
  ],
);

/** Every user and assistant message, kept for history and for conversation_search. */
export const messages = pgTable(
  'messages',
  {
    id: uuid('id').primaryKey(),
    seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    runId: uuid('run_id'),
    /**
     * The message this one follows: for an answer, the user message it answers; for a user message,
     * the message it was sent after (null for a conversation's first). Messages with one parent are
     * versions of each other (an edit, a regenerated answer), so a conversation is a tree whose
     * branches stay listable; `conversations.leaf_message_id` says which branch is shown.
     */
    parentId: uuid('parent_id'),
    role: text('role', { enum: ['user', 'assistant'] }).notNull(),
    content: text('content').notNull(),
    status: text('status', { enum: ['complete', 'incomplete', 'failed'] }).notNull(),
    promptTokens: integer('prompt_tokens'),
    completionTokens: integer('completion_tokens'),
    costMicros: bigint('cost_micros', { mode: 'number' }),
    createdAt: createdAt(),
    search: tsvector('search').generatedAlwaysAs(sql`to_tsvector('simple', content)`),
  },
  (t) => [
    index('messages_conversation_seq_idx').on(t.conversationId, t.seq),
    index('messages_conversation_parent_idx').on(t.conversationId, t.parentId),
    index('messages_search_idx').using('gin', t.search),
  ],
);

export const RUN_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;

/** One agent turn: the model steps and tool calls that answer one user message. */
export const runs = pgTable(
  'runs',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    userMessageId: uuid('user_message_id').notNull(),
    assistantMessageId: uuid('assistant_message_id'),
    clientMessageId: uuid('client_message_id'),
    status: text('status', { enum: RUN_STATUSES }).notNull(),
    model: text('model').notNull(),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    createdAt: createdAt(),
    firstTokenAt: timestamp('first_token_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    /** Moved forward while the process running it lives; a stale one means that process died. */
    heartbeatAt: timestamp('heartbeat_at', { withTimezone: true }).notNull().defaultNow(),
    /** The server instance running it, so a restarted instance can end its own runs at once. */
    instanceId: text('instance_id'),
  },
  (t) => [
    uniqueIndex('runs_client_message_idx').on(t.userId, t.clientMessageId),
    // One live run per conversation, enforced by the database so concurrent sends cannot both start.
    uniqueIndex('runs_one_active_idx').on(t.conversationId).where(sql`${t.status} in ('queued', 'running')`),
    index('runs_user_status_idx').on(t.userId, t.status),
  ],
);

/** Archival memory: passages the agent chose to keep, searched by full text. */
export const archivalPassages = pgTable(
  'archival_passages',
  {
    id: uuid('id').primaryKey(),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    content: text('content').notNull(),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    createdAt: createdAt(),
    search: tsvector('search').generatedAlwaysAs(sql`to_tsvector('simple', content)`),
  },
  (t) => [index('archival_search_idx').using('gin', t.search)],
);

/**
 * What the agent wrote about the part of a conversation that no longer fits its context window:
 * messages up to `throughSeq` are replaced by `summary` in the prompt (they stay stored and searchable).
 */
export const conversationSummaries = pgTable('conversation_summaries', {
  conversationId: uuid('conversation_id')
    .primaryKey()
    .references(() => conversations.id, { onDelete: 'cascade' }),
  summary: text('summary').notNull(),
  throughSeq: bigint('through_seq', { mode: 'number' }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * A user's budget for the current period. Money is integer micro-dollars. The limit in force is the
 * lower of the user's own cap (`limit_micros`) and the operator's limit: `operator_limit_micros`
 * once an admin has set one (`operator_set`), else DEFAULT_BUDGET_USD; null is no limit.
 */
export const budgets = pgTable('budgets', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  /** The user's own cap (user.setBudget), null for none. */
  limitMicros: bigint('limit_micros', { mode: 'number' }),
  operatorLimitMicros: bigint('operator_limit_micros', { mode: 'number' }),
  operatorSet: boolean('operator_set').notNull().default(false),
  period: text('period', { enum: BUDGET_PERIODS }).notNull(),
  periodStart: timestamp('period_start', { withTimezone: true }).notNull(),
  spentMicros: bigint('spent_micros', { mode: 'number' }).notNull().default(0),
  reservedMicros: bigint('reserved_micros', { mode: 'number' }).notNull().default(0),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Money set aside for one model step before the call; settled (deleted) once its real cost is known. */
export const reservations = pgTable(
  'reservations',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    runId: uuid('run_id'),
    model: text('model').notNull(),
    amountMicros: bigint('amount_micros', { mode: 'number' }).notNull(),
    /** What the step sent, and had received at its last progress report: a crashed step is billed for these. */
    promptTokens: integer('prompt_tokens').notNull().default(0),
    receivedTokens: integer('received_tokens').notNull().default(0),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('reservations_expires_idx').on(t.expiresAt), index('reservations_user_idx').on(t.userId)],
);

/**
 * One row per model step: what it used and what it cost. The user is null once their account is
 * deleted: the spend stays in the operator's totals, tied to nobody.
 */
export const usageRecords = pgTable(
  'usage_records',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'set null' }),
    runId: uuid('run_id'),
    model: text('model').notNull(),
    promptTokens: integer('prompt_tokens').notNull(),
    completionTokens: integer('completion_tokens').notNull(),
    costMicros: bigint('cost_micros', { mode: 'number' }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('usage_user_time_idx').on(t.userId, t.createdAt)],
);

/** Each user's virtual key on the LiteLLM proxy (BILLING=litellm). Server-side only: never sent to a client. */
export const litellmKeys = pgTable('litellm_keys', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  key: text('key').notNull(),
  createdAt: createdAt(),
});

/** AGENT_BACKEND=letta: the Letta agent that is each user's agent (also tagged `user:<id>` on Letta). */
export const lettaAgents = pgTable('letta_agents', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  lettaAgentId: text('letta_agent_id').notNull().unique(),
  /** The model handle the user chose for their agent (agent.setModel); null: LETTA_MODELS' first. */
  model: text('model'),
  createdAt: createdAt(),
});

/**
 * Personal API keys for server-to-server callers. Only the SHA-256 of a key is kept (the key is 256
 * random bits, so a fast hash looked up by index is as safe as a slow one); the prefix is for display.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    keyHash: text('key_hash').notNull().unique(),
    createdAt: createdAt(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [index('api_keys_user_id_idx').on(t.userId)],
);
