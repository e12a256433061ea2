import { appRouter } from '@hearth/api';
import { APP_CODES } from '@hearth/core';
import type { HearthClient } from '@hearth/sdk';
import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatTurn } from '../support/run-events';
import {
  PASSWORD,
  signedInClient,
  startTestServer,
  type TestServer,
  testLlmClient,
  uniqueEmail,
} from '../support/test-server';

/**
 * Malformed input for every procedure of the app router, over real HTTP in tRPC's wire format.
 * No answer may be a 5xx; every error has the contract's shape; a refused call changes nothing;
 * no log line at info or above holds a stack, SQL, or anything the input carried.
 * FUZZ_RUNS raises the inputs per procedure, FUZZ_SEED replays a run.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 20);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** The default timeout fits the default runs; a raised FUZZ_RUNS gets time in proportion. */
const TIMEOUT_MS = Math.max(20_000, RUNS * 150);
/** Put into generated strings: it must never reach a log line at info or above. */
const MARKER = 'fUzZmArK3r';
const INFO = 30;
const OVER_BODY_LIMIT = `${MARKER}${'x'.repeat(1_100_000)}`;

type Kind = 'query' | 'mutation' | 'subscription';
interface InputParser {
  safeParse(value: unknown): { success: boolean };
}
// At run time the router holds its procedures flat, by their dotted path.
const procedures = appRouter._def.procedures as unknown as Record<
  string,
  { _def: { type: Kind; inputs: InputParser[] } }
>;
/** Whether a call without input is valid: superjson reads a raw (non-superjson) body as none. */
const acceptsNoInput = (path: string) =>
  (procedures[path]?._def.inputs ?? []).every((parser) => parser.safeParse(undefined).success);

interface Ids {
  ownConversationId: string;
  ownRunId: string;
  /** The owner's user message and its answer: the last answer, which a well-formed regenerate would rerun. */
  ownUserMessageId: string;
  ownAnswerId: string;
  foreignMessageId: string;
  foreignConversationId: string;
  foreignRunId: string;
  ownEmail: string;
}

// ---- values -------------------------------------------------------------------------------

const marked = (max = 200) => fc.string({ maxLength: max }).map((s) => `${MARKER}${s}`);
const nulText = fc
  .tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }))
  .map(([a, b]) => `${MARKER}${a}\u0000${b}`);
const surrogateText = fc
  .tuple(fc.string({ maxLength: 20 }), fc.constantFrom('\uD800', '\uDBFF', '\uDC00', '\uDFFF'))
  .map(([a, half]) => `${MARKER}${a}${half}`);
/** Strings the store cannot hold, and (in bodies only) strings past every size rule. */
const unstorable = fc.oneof(nulText, surrogateText);
const hugeText = (min: number) =>
  fc.oneof(
    fc.integer({ min, max: min + 50_000 }).map((n) => `${MARKER}${'y'.repeat(n)}`),
    fc.constant(OVER_BODY_LIMIT),
  );
/** Past a size rule but short enough for a query string (a URL past Node's header limit never reaches Hearth). */
const longQueryText = (min: number) => fc.integer({ min, max: min + 500 }).map((n) => `${MARKER}${'y'.repeat(n)}`);
/** Anything but a string. */
const notString = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.array(marked(10), { maxLength: 3 }),
  fc.object({ maxDepth: 1 }),
);
/** Inputs that are not an object at all (no procedure with an input takes one). */
const notObject = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  marked(),
  fc.array(fc.jsonValue(), { maxLength: 4 }),
);
const notUuid = fc.oneof(
  marked(40),
  fc.uuid().map((id) => `${id}x`),
  fc.uuid().map((id) => id.slice(1)),
  notString,
);
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value) ?? 'null').toString('base64url');

function values(ids: Ids) {
  const anyUuid = fc.oneof(fc.uuid(), fc.constantFrom(ids.foreignConversationId, ids.foreignRunId));
  const conversationIdNotMine = fc.oneof(fc.uuid(), fc.constant(ids.foreignConversationId), fc.constant(ids.ownRunId));
  const runIdNotMine = fc.oneof(fc.uuid(), fc.constant(ids.foreignRunId), fc.constant(ids.ownConversationId));
  const messageIdNotMine = fc.oneof(
    fc.uuid(),
    fc.constant(ids.foreignMessageId),
    fc.constant(ids.ownRunId),
    fc.constant(ids.ownConversationId),
  );
  const forgedCursor = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }).map(base64url),
    fc.record({ at: fc.jsonValue({ maxDepth: 1 }), id: fc.jsonValue({ maxDepth: 1 }) }).map(base64url),
    fc
      .record({ c: fc.oneof(anyUuid, fc.constant(ids.ownConversationId), notUuid), s: fc.jsonValue({ maxDepth: 1 }) })
      .map(base64url),
    fc.record({ c: anyUuid, s: fc.integer({ min: 1 }) }).map(base64url),
    fc
      .record({ at: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), id: fc.uuid(), x: marked(5) })
      .map(base64url),
    marked(100),
    unstorable,
  );
  const queryJunk = fc.oneof(notObject, fc.object({ maxDepth: 2 }), fc.constant(undefined));
  return { anyUuid, conversationIdNotMine, runIdNotMine, messageIdNotMine, forgedCursor, queryJunk };
}

/** A malformed (or not-the-caller's) input for each procedure; a new procedure without one fails the suite. */
function arbitraries(ids: Ids): Record<string, fc.Arbitrary<unknown>> {
  const v = values(ids);
  const email = fc.oneof(
    marked(30),
    unstorable,
    notString,
    marked(40).map((s) => `${'x'.repeat(250)}${s}@example.com`),
  );
  const newEmail = fc.constant(null).map(() => `${MARKER}-${uniqueEmail()}`);
  const badPassword = fc.oneof(
    fc.string({ maxLength: 7 }).map((s) => s.slice(0, 7)),
    fc.string({ minLength: 129, maxLength: 200 }),
    notString,
  );
  const badText = fc.oneof(unstorable, hugeText(32_001), notString, fc.constantFrom('', '   ', '\n\t'));
  const badTitle = fc.oneof(unstorable, hugeText(201), notString, fc.constantFrom('', '   '));
  const limit = fc.oneof(fc.integer(), fc.double(), notString, marked(5));
  const noInput = fc.oneof(v.queryJunk, fc.constant(undefined));
  return {
    'auth.register': fc.oneof(
      notObject,
      fc.record({ email, password: fc.constant(PASSWORD) }),
      fc.record({ email: newEmail, password: badPassword }),
      fc.record({
        email: newEmail,
        password: fc.constant(PASSWORD),
        displayName: fc.oneof(unstorable, hugeText(81), notString, fc.constant('')),
      }),
    ),
    'auth.login': fc.oneof(
      notObject,
      fc.record({
        email: fc.oneof(email, fc.constant(ids.ownEmail)),
        password: fc.oneof(marked(50), notString, hugeText(129)),
      }),
    ),
    'auth.refresh': fc.oneof(
      notObject,
      fc.record({ refreshToken: fc.oneof(marked(100), unstorable, notString, hugeText(513)) }),
    ),
    'auth.logout': fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      marked(),
      fc.array(fc.jsonValue(), { maxLength: 3 }),
    ),
    'auth.me': noInput,
    'auth.createApiKey': fc.oneof(
      notObject,
      fc.record({ name: fc.oneof(unstorable, hugeText(101), notString, fc.constantFrom('', '   ')) }),
      fc.record({
        name: marked(20),
        expiresAt: fc.oneof(
          fc.date({ max: new Date('2000-01-01'), noInvalidDate: true }),
          notString,
          marked(20),
          fc.constant(new Date(Number.NaN)),
        ),
      }),
    ),
    'auth.listApiKeys': noInput,
    'auth.revokeApiKey': fc.oneof(notObject, fc.record({ id: fc.oneof(v.anyUuid, notUuid) })),
    'chat.send': fc.oneof(
      notObject,
      fc.record({ text: badText }),
      fc.record({ text: marked(50), conversationId: fc.oneof(v.conversationIdNotMine, notUuid) }),
      fc.record({ text: marked(50), clientMessageId: notUuid }),
      fc.record({ text: marked(50), model: fc.oneof(marked(50), unstorable, notString, hugeText(201)) }),
      // Files whose bytes are not what they claim, too many of them, or not files at all.
      fc.record({
        text: marked(50),
        attachments: fc.oneof(
          notObject,
          fc.array(
            fc.record({
              name: fc.oneof(marked(20), unstorable, notString, fc.constant('')),
              type: fc.oneof(fc.constantFrom('image/png', 'application/pdf'), notString),
              data: fc.oneof(marked(40), notString, fc.constant('')),
            }),
            { minLength: 1, maxLength: 7 },
          ),
        ),
      }),
    ),
    'chat.attachment': fc.oneof(notObject, fc.record({ id: fc.oneof(v.anyUuid, notUuid) })),
    // Never a well-formed call on the owner's own messages: it would start a run (and change the history).
    'chat.regenerate': fc.oneof(
      notObject,
      fc.record({ messageId: fc.oneof(v.messageIdNotMine, notUuid) }),
      fc.record({
        messageId: fc.constant(ids.ownAnswerId),
        model: fc.oneof(marked(50), unstorable, notString, hugeText(201)),
      }),
    ),
    'chat.editMessage': fc.oneof(
      notObject,
      fc.record({ messageId: fc.constant(ids.ownUserMessageId), text: badText }),
      fc.record({ messageId: fc.oneof(v.messageIdNotMine, notUuid), text: marked(50) }),
      fc.record({ messageId: fc.constant(ids.ownAnswerId), text: marked(50) }),
      fc.record({ text: marked(50) }),
    ),
    'chat.switchBranch': fc.oneof(notObject, fc.record({ messageId: fc.oneof(v.messageIdNotMine, notUuid) })),
    'chat.events': fc.oneof(
      notObject,
      fc.record({ runId: fc.oneof(v.runIdNotMine, notUuid) }),
      fc.record({
        runId: v.runIdNotMine,
        lastEventId: fc.oneof(marked(20), unstorable, notString, fc.string({ minLength: 65, maxLength: 100 })),
      }),
    ),
    'chat.cancel': fc.oneof(notObject, fc.record({ runId: fc.oneof(v.runIdNotMine, notUuid) })),
    'chat.history': fc.oneof(
      v.queryJunk,
      fc.record({ conversationId: fc.oneof(v.conversationIdNotMine, notUuid) }, { requiredKeys: [] }),
      fc.record({ conversationId: fc.constant(ids.ownConversationId), cursor: v.forgedCursor }),
      fc.record({ cursor: v.forgedCursor, limit }, { requiredKeys: ['cursor'] }),
    ),
    'chat.conversations': fc.oneof(v.queryJunk, fc.record({ cursor: v.forgedCursor, limit }, { requiredKeys: [] })),
    'chat.createConversation': fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      marked(),
      fc.array(fc.jsonValue(), { maxLength: 3 }),
      fc.record({ title: badTitle }),
      // Not a model the server offers, or not a model name at all.
      fc.record({
        title: marked(20),
        model: fc.oneof(marked(50), unstorable, notString, hugeText(201), fc.constant('')),
      }),
    ),
    'chat.models': noInput,
    'chat.setConversationModel': fc.oneof(
      notObject,
      fc.record({
        conversationId: fc.constant(ids.ownConversationId),
        model: fc.oneof(marked(50), unstorable, notString, hugeText(201), fc.constant('')),
      }),
      fc.record({ conversationId: fc.constant(ids.ownConversationId) }),
      fc.record({
        conversationId: fc.oneof(v.conversationIdNotMine, notUuid),
        model: fc.constantFrom(null, 'test-model'),
      }),
    ),
    'chat.renameConversation': fc.oneof(
      notObject,
      fc.record({ conversationId: fc.constant(ids.ownConversationId), title: badTitle }),
      fc.record({ conversationId: fc.oneof(v.conversationIdNotMine, notUuid), title: marked(50) }),
    ),
    'chat.deleteConversation': fc.oneof(
      notObject,
      fc.record({ conversationId: fc.oneof(v.conversationIdNotMine, notUuid) }),
    ),
    'agent.status': noInput,
    // The built-in runtime has no agent-wide model: every input is refused, a well-formed one too.
    'agent.setModel': fc.oneof(
      notObject,
      fc.record({
        model: fc.oneof(marked(50), unstorable, notString, hugeText(201), fc.constantFrom('', 'test-model')),
      }),
    ),
    'agent.memory': noInput,
    'agent.updateMemory': fc.oneof(
      notObject,
      fc.record({ label: fc.oneof(unstorable, notString, fc.constant(''), hugeText(65)), value: marked(20) }),
      fc.record({ label: marked(40), value: marked(20) }),
      fc.record({
        label: fc.constantFrom('human', 'persona'),
        value: fc.oneof(unstorable, notString, hugeText(20_001)),
      }),
    ),
    'agent.memoryHistory': fc.oneof(
      v.queryJunk,
      fc.record({ label: fc.oneof(unstorable, notString, fc.constant(''), longQueryText(65)) }),
      fc.record({ cursor: v.forgedCursor, limit }, { requiredKeys: ['cursor'] }),
    ),
    'agent.revertMemory': fc.oneof(notObject, fc.record({ versionId: fc.oneof(v.anyUuid, notUuid) })),
    'agent.archival.list': fc.oneof(
      v.queryJunk,
      fc.record({ query: fc.oneof(unstorable, notString, longQueryText(201), fc.constantFrom('', '   ')) }),
      fc.record({ cursor: v.forgedCursor, limit }, { requiredKeys: ['cursor'] }),
    ),
    'agent.archival.delete': fc.oneof(notObject, fc.record({ id: fc.oneof(v.anyUuid, notUuid) })),
    'agent.reset': fc.oneof(
      notObject,
      fc.record({ scope: fc.oneof(marked(20), notString, fc.constantFrom('MESSAGES', 'every')) }),
    ),
    'user.profile': noInput,
    'user.updateProfile': fc.oneof(
      notObject,
      fc.record({
        displayName: fc.oneof(unstorable, hugeText(81), fc.integer(), fc.boolean(), fc.constantFrom('', '    ')),
      }),
    ),
    'user.usage': fc.oneof(
      v.queryJunk,
      fc.record(
        {
          from: fc.oneof(marked(20), notString),
          to: fc.oneof(marked(20), notString),
          groupBy: fc.oneof(marked(10), notString),
        },
        { requiredKeys: [] },
      ),
    ),
    'user.budget': noInput,
    'user.setBudget': fc.oneof(
      notObject,
      fc.record({
        // Finite only: JSON writes NaN and ±Infinity as null, which is a valid limit (none).
        limitUsd: fc.oneof(
          fc.double({ max: -0.000001, noNaN: true, noDefaultInfinity: true }),
          fc.double({ min: 1_000_001, noNaN: true, noDefaultInfinity: true }),
          fc.constant(0.1234567),
          marked(5),
          fc.boolean(),
        ),
        period: fc.constantFrom('day', 'month'),
      }),
      fc.record({ limitUsd: fc.constantFrom(1, null), period: fc.oneof(marked(10), notString) }),
    ),
    'user.health': noInput,
    // Never the password: a fuzzed call must not delete the account the other calls run as.
    'user.deleteAccount': fc.oneof(
      notObject,
      fc.record({ password: fc.oneof(notString, fc.constant(''), fc.string({ minLength: 129, maxLength: 200 })) }),
    ),
    // The fuzzing caller is an admin (ADMIN_EMAILS), so these reach their input rules and services;
    // no id it can generate is its own, so nothing of its own changes. admin.test.ts tries them as a plain user.
    'admin.users': fc.oneof(
      notObject,
      fc.record(
        {
          // A query travels in the URL: past the 200 characters allowed, not past what a request line holds.
          query: fc.oneof(
            unstorable,
            fc.integer({ min: 201, max: 2_000 }).map((n) => `${MARKER}${'y'.repeat(n)}`),
            notString,
          ),
          cursor: fc.oneof(v.forgedCursor, notString),
          limit,
        },
        { requiredKeys: [] },
      ),
    ),
    'admin.user': fc.oneof(notObject, fc.record({ userId: fc.oneof(v.anyUuid, notUuid) })),
    'admin.setBudget': fc.oneof(
      notObject,
      fc.record({ userId: notUuid, limitUsd: fc.constantFrom(1, null), period: fc.constantFrom('day', 'month') }),
      fc.record({
        userId: v.anyUuid,
        limitUsd: fc.oneof(
          fc.double({ max: -0.000001, noNaN: true, noDefaultInfinity: true }),
          fc.double({ min: 1_000_001, noNaN: true, noDefaultInfinity: true }),
          marked(5),
        ),
        period: fc.oneof(fc.constantFrom('day', 'month'), marked(10), notString),
      }),
      fc.record({ userId: v.anyUuid, limitUsd: fc.constantFrom(1, null), period: fc.constantFrom('day', 'month') }),
    ),
    'admin.disableUser': fc.oneof(notObject, fc.record({ userId: fc.oneof(v.anyUuid, notUuid) })),
    'admin.enableUser': fc.oneof(notObject, fc.record({ userId: fc.oneof(v.anyUuid, notUuid) })),
    'admin.usage': fc.oneof(
      v.queryJunk,
      fc.record(
        {
          from: fc.oneof(marked(20), notString),
          to: fc.oneof(marked(20), notString),
          groupBy: fc.oneof(marked(10), notString, fc.constantFrom('week', 'user ')),
        },
        { requiredKeys: [] },
      ),
    ),
    'admin.health': noInput,
  };
}

// ---- the wire -------------------------------------------------------------------------------

type Encoding = 'superjson' | 'raw' | 'invalid-json';

interface Answer {
  status: number;
  body: unknown;
  contentType: string;
}

function unitOf(body: unknown): Array<{ error?: { json?: { message?: unknown; data?: Record<string, unknown> } } }> {
  return (Array.isArray(body) ? body : [body]) as never;
}

const SQL = /\b(select|insert into|update \w+ set|delete from)\b|violates|constraint|relation "|syntax error|\$\d/i;
const STACK = /\n\s+at |\.[cm]?[jt]s:\d+:\d+/;

/** The strings an input carries (at any depth), longest first. */
function stringsOf(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (input === null || typeof input !== 'object') return [];
  const nested = Array.isArray(input) ? input : [...Object.keys(input), ...Object.values(input)];
  return nested.flatMap(stringsOf).sort((a, b) => b.length - a.length);
}

/**
 * A message with what the caller sent taken out: an answer may quote the caller's own input (a
 * label it does not know), which may happen to look like SQL ("$0"); the server's insides may not.
 */
function withoutInput(message: string, inputs: unknown[]): string {
  // A one-character input is left in: taking it out everywhere would blank the message itself.
  return stringsOf(inputs)
    .filter((text) => text.length > 1)
    .reduce((rest, text) => rest.replaceAll(text, '…'), message);
}

/** Every error in an answer has the contract's shape and tells nothing of the server's insides. */
function checkAnswer(path: string, answer: Answer, inputs: unknown[]): { errors: number } {
  expect(answer.status, `${path}: HTTP ${answer.status}`).toBeLessThan(500);
  expect(answer.contentType, `${path}: content type`).toMatch(/^application\/json/);
  let errors = 0;
  for (const item of unitOf(answer.body)) {
    if (!item.error) continue;
    errors += 1;
    const shape = item.error.json;
    expect(typeof shape?.message, `${path}: error message`).toBe('string');
    expect(APP_CODES, `${path}: appCode`).toContain(shape?.data?.appCode);
    expect(shape?.data?.appCode, `${path}: INTERNAL`).not.toBe('INTERNAL');
    expect(shape?.data?.stack, `${path}: stack`).toBeUndefined();
    const message = withoutInput(String(shape?.message), inputs);
    expect(message, `${path}: message`).not.toMatch(SQL);
    expect(message, `${path}: message`).not.toMatch(STACK);
  }
  return { errors };
}

describe('every procedure, fed malformed input over HTTP', () => {
  let llm: LlmTestServer;
  let server: TestServer;
  let owner: HearthClient;
  let ids: Ids;
  let token: string;
  const tried = new Map<string, { inputs: number; refused: number; batches: number }>();

  beforeAll(async () => {
    console.log(`procedures fuzz: seed ${SEED}, ${RUNS} inputs per procedure (FUZZ_SEED / FUZZ_RUNS to change)`);
    llm = await startLlmTestServer();
    const ownEmail = uniqueEmail('fuzz-owner');
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      llm: testLlmClient(llm),
      captureLogs: true,
      env: { ADMIN_EMAILS: ownEmail },
    });
    owner = server.client();
    await owner.auth.register.mutate({ email: ownEmail, password: PASSWORD, displayName: 'Owner' });
    const conversation = await owner.chat.createConversation.mutate({ title: 'owned' });
    const turn = await chatTurn(owner, 'hello there', conversation.id);
    // The default conversation is created on first use (by design, even by a history query).
    await owner.chat.history.query({});
    const other = await signedInClient(server, 'fuzz-other');
    const foreign = await chatTurn(other, 'not yours');
    if (turn.terminal?.type !== 'run.completed') throw new Error('the owner’s first turn did not complete');
    ids = {
      ownConversationId: conversation.id,
      ownRunId: turn.sent.runId,
      ownUserMessageId: turn.sent.userMessage.id,
      ownAnswerId: turn.terminal.message.id,
      foreignMessageId: foreign.sent.userMessage.id,
      foreignConversationId: foreign.sent.conversationId,
      foreignRunId: foreign.sent.runId,
      ownEmail,
    };
    token = owner.session?.accessToken ?? '';
  });
  afterAll(async () => {
    if (tried.size > 0) console.table(Object.fromEntries(tried));
    await server?.close();
    await llm?.close();
  });

  const snapshot = async () => {
    const [conversations, status, memory, budget, profile, keys] = await Promise.all([
      owner.chat.conversations.query({ limit: 100 }),
      owner.agent.status.query(),
      owner.agent.memory.query(),
      owner.user.budget.query(),
      owner.user.profile.query(),
      owner.auth.listApiKeys.query(),
    ]);
    return { conversations, messageCount: status.messageCount, memory, budget, profile, keys };
  };

  const send = async (paths: string[], inputs: unknown[], encoding: Encoding, batch: boolean): Promise<Answer> => {
    const kind = procedures[paths[0] ?? '']?._def.type ?? 'query';
    const encode = (input: unknown) => (encoding === 'superjson' ? { json: input } : input);
    const payload =
      encoding === 'invalid-json'
        ? `{"json": ${MARKER}`
        : JSON.stringify(batch ? Object.fromEntries(inputs.map((input, i) => [i, encode(input)])) : encode(inputs[0]));
    const url = new URL(`${server.url}/trpc/${paths.join(',')}`);
    if (batch) url.searchParams.set('batch', '1');
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    let init: RequestInit;
    if (kind === 'mutation') {
      init = { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: payload };
    } else {
      if (payload !== undefined) url.searchParams.set('input', payload);
      init = { method: 'GET', headers };
    }
    const response = await fetch(url, init);
    const contentType = response.headers.get('content-type') ?? '';
    if (contentType.startsWith('text/event-stream')) {
      await response.body?.cancel();
      return { status: response.status, body: { result: 'stream' }, contentType };
    }
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // checked below: a non-JSON answer fails the content type check
    }
    return { status: response.status, body, contentType };
  };

  const names = Object.keys(procedures).sort();

  it('has an arbitrary for every procedure of the router', () => {
    const arbs = arbitraries({
      ownConversationId: '',
      ownRunId: '',
      ownUserMessageId: '',
      ownAnswerId: '',
      foreignMessageId: '',
      foreignConversationId: '',
      foreignRunId: '',
      ownEmail: '',
    });
    expect(names.filter((name) => !(name in arbs))).toEqual([]);
  });

  it.each(names)(
    '%s: no 5xx, typed errors, nothing stored',
    async (path) => {
      const arbitrary = arbitraries(ids)[path];
      if (!arbitrary) throw new Error(`no arbitrary for ${path}: add one to arbitraries()`);
      const kind = procedures[path]?._def.type;
      const before = await snapshot();
      const count = { inputs: 0, refused: 0, batches: 0 };
      tried.set(path, count);
      const encoding = fc.constantFrom<Encoding>('superjson', 'superjson', 'superjson', 'raw', 'invalid-json');
      await fc.assert(
        fc.asyncProperty(arbitrary, encoding, async (input, how) => {
          // A raw body is read by superjson as no input at all, which some procedures accept as valid.
          const wire = how === 'raw' && kind !== 'query' && acceptsNoInput(path) ? 'superjson' : how;
          const answer = await send([path], [input], wire, false);
          count.inputs += 1;
          const { errors } = checkAnswer(path, answer, [input]);
          count.refused += errors;
          if (kind !== 'query') expect(errors, `${path} accepted ${JSON.stringify(input)?.slice(0, 200)}`).toBe(1);
        }),
        { numRuns: RUNS, seed: SEED },
      );
      expect(await snapshot(), `${path} changed the caller's data`).toEqual(before);
    },
    TIMEOUT_MS,
  );

  it(
    'batches of many calls, queries and mutations',
    async () => {
      const arbs = arbitraries(ids);
      const byKind = (kind: Kind) => names.filter((name) => procedures[name]?._def.type === kind);
      const before = await snapshot();
      const count = { inputs: 0, refused: 0, batches: 0 };
      tried.set('(batches)', count);
      for (const kind of ['query', 'mutation'] as const) {
        const calls = fc.array(
          fc
            .constantFrom(...byKind(kind))
            .chain((path) => (arbs[path] as fc.Arbitrary<unknown>).map((input) => ({ path, input }))),
          { minLength: 2, maxLength: 60 },
        );
        await fc.assert(
          fc.asyncProperty(calls, async (batch) => {
            // Queries travel in the URL: keep them within what an HTTP server reads of a request line.
            const small =
              kind === 'query' ? batch.filter((call) => JSON.stringify(call.input ?? null).length < 100) : batch;
            if (small.length === 0) return;
            const answer = await send(
              small.map((call) => call.path),
              small.map((call) => call.input),
              'superjson',
              true,
            );
            count.batches += 1;
            count.inputs += small.length;
            const { errors } = checkAnswer(
              'batch',
              answer,
              small.map((call) => call.input),
            );
            count.refused += errors;
            // Mutations are all malformed; a batch cap may refuse the whole batch with one error.
            if (kind === 'mutation') expect(errors).toBe(Array.isArray(answer.body) ? small.length : 1);
          }),
          { numRuns: Math.max(3, Math.ceil(RUNS / 4)), seed: SEED },
        );
      }
      expect(await snapshot()).toEqual(before);
    },
    TIMEOUT_MS,
  );

  it('logged nothing at info or above that holds a stack, SQL or a value from the input', () => {
    const lines = server
      .logs()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: number; msg?: string });
    const loud = lines.filter((line) => line.level >= INFO).map((line) => JSON.stringify(line));
    expect(loud.length).toBeGreaterThan(0);
    expect(loud.filter((line) => line.includes(MARKER))).toEqual([]);
    expect(loud.filter((line) => /"stack"|\\n\s+at /.test(line))).toEqual([]);
    expect(loud.filter((line) => SQL.test(line))).toEqual([]);
  });
});
