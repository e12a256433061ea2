import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachmentSchema, warmPdfReader } from '@hearth/core';
import { testDatabases } from '@hearth/core/testing';
import { type FakeS3, type LlmTestServer, startFakeS3, startLlmTestServer } from '@hearth/testkit';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, type Backend, startBackend } from '../support/agent-backends';
import { expectHearthError } from '../support/expect-error';
import { base64, PNG_1X1, tinyPdf } from '../support/files';
import { RestContract } from '../support/rest';
import { collectRun } from '../support/run-events';
import { PASSWORD, signedInClient, startTestServer, type TestServer, uniqueEmail } from '../support/test-server';

/** test-model reads images (supports_vision); test-text-model does not. */
function pricesFile(dir: string): string {
  const path = join(dir, 'prices.json');
  const price = { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002, max_input_tokens: 128000 };
  writeFileSync(
    path,
    JSON.stringify({
      'test-model': { ...price, max_output_tokens: 4096, supports_vision: true },
      'test-text-model': { ...price, max_output_tokens: 4096 },
    }),
  );
  return path;
}

const SECRET = 'The secret word is marmalade';

/** The last user message of an upstream model call, as parts (text and image URLs). */
function lastUserParts(llm: LlmTestServer): { text: string; images: string[] } {
  const call = llm.calls.findLast((c) => c.messages.some((m) => (m as { role?: string }).role === 'user'));
  const user = call?.messages.findLast((m) => (m as { role?: string }).role === 'user') as
    | { content: string | Array<{ type: string; text?: string; image_url?: { url: string } }> }
    | undefined;
  if (!user) throw new Error('no user message went upstream');
  if (typeof user.content === 'string') return { text: user.content, images: [] };
  return {
    text: user.content.flatMap((part) => (part.type === 'text' && part.text ? [part.text] : [])).join('\n'),
    images: user.content.flatMap((part) => (part.type === 'image_url' && part.image_url ? [part.image_url.url] : [])),
  };
}

const SUITES = BACKENDS.flatMap(({ name }) => testDatabases().map((database) => ({ name, database })));

describe.each(SUITES)('attachments on the $name backend, $database.name', ({ name, database }) => {
  let llm: LlmTestServer;
  let backend: Backend;
  let server: TestServer;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-attachments-'));
    // As the server does in the background after it starts: the first PDF then stalls nothing (Letta's 1 s timeout).
    await warmPdfReader();
    llm = await startLlmTestServer();
    // A fresh fake Letta's first answers (its spec checker warming up) can take over the default 1 s here.
    backend = await startBackend(name, llm, { timeoutMs: 10_000 });
    server = await startTestServer({
      store: database.location,
      captureLogs: true,
      ...backend.server,
      env: {
        ...backend.server.env,
        MODEL_PRICES_FILE: pricesFile(dir),
        ...(name === 'builtin' ? { LLM_MODELS: 'test-model,test-text-model' } : {}),
        ATTACHMENTS_MAX_COUNT: '3',
        ATTACHMENTS_MAX_MB: '0.05',
        ATTACHMENT_TEXT_MAX_TOKENS: '200',
      },
    });
  });
  afterEach(() => {
    llm.reset();
    backend.assertClean();
  });
  afterAll(async () => {
    await server?.close();
    await backend?.close();
    await llm?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends an image as an image part and a PDF as its text, lists them in the history, and returns each to its owner only', async () => {
    const client = await signedInClient(server, 'attach');
    const pdf = tinyPdf(SECRET);
    llm.enqueue({ text: 'A pixel and a secret.' });
    const sent = await client.chat.send.mutate({
      text: 'What do these say?',
      attachments: [
        { name: 'pixel.png', type: 'image/png', data: PNG_1X1 },
        { name: 'note.pdf', type: 'application/pdf', data: base64(pdf) },
      ],
    });
    expect(sent.userMessage.attachments).toEqual([
      { id: expect.any(String), name: 'pixel.png', type: 'image/png', size: 70, kind: 'image', truncated: false },
      {
        id: expect.any(String),
        name: 'note.pdf',
        type: 'application/pdf',
        size: pdf.length,
        kind: 'text',
        truncated: false,
      },
    ]);
    const run = await collectRun(client, sent.runId);
    expect(run.terminal?.type).toBe('run.completed');

    const upstream = lastUserParts(llm);
    expect(upstream.text).toContain('What do these say?');
    expect(upstream.text).toContain(SECRET);
    expect(upstream.text).toContain('[Attached file: note.pdf (application/pdf)]');
    expect(upstream.images).toEqual([`data:image/png;base64,${PNG_1X1}`]);

    const { messages } = await client.chat.history.query({ conversationId: sent.conversationId });
    expect(messages[0]?.attachments?.map((a) => [a.name, a.type, a.kind])).toEqual([
      ['pixel.png', 'image/png', 'image'],
      ['note.pdf', 'application/pdf', 'text'],
    ]);
    expect(messages[1]?.attachments).toEqual([]);

    const [image, document] = sent.userMessage.attachments ?? [];
    if (!image || !document) throw new Error('no attachments');
    const fetched = await client.chat.attachment.query({ id: image.id });
    expect(fetched).toMatchObject({
      id: image.id,
      name: 'pixel.png',
      data: PNG_1X1,
      text: null,
      messageId: sent.userMessage.id,
    });
    expect((await client.chat.attachment.query({ id: document.id })).text).toContain(SECRET);

    const stranger = await signedInClient(server, 'attach-stranger');
    await expectHearthError(stranger.chat.attachment.query({ id: image.id }), 'NOT_FOUND');
    // Nothing of a file's content in the logs.
    expect(server.logs()).not.toContain('marmalade');
    expect(server.logs()).not.toContain(PNG_1X1.slice(20, 60));
  });

  it('sends the files again when the answer is regenerated', async () => {
    const client = await signedInClient(server, 'attach-regenerate');
    llm.enqueue({ text: 'First.' }, { text: 'Second.' });
    const sent = await client.chat.send.mutate({
      text: 'read it',
      attachments: [{ name: 'note.pdf', type: 'application/pdf', data: base64(tinyPdf(SECRET)) }],
    });
    await collectRun(client, sent.runId);
    llm.reset();
    llm.enqueue({ text: 'Second.' });
    const again = await client.chat.regenerate.mutate({ messageId: sent.userMessage.id });
    expect((await collectRun(client, again.runId)).terminal?.type).toBe('run.completed');
    expect(lastUserParts(llm).text).toContain(SECRET);
  });

  it('refuses a .png that is not a PNG, naming the file, and stores nothing', async () => {
    const client = await signedInClient(server, 'attach-fake');
    const error = await expectHearthError(
      client.chat.send.mutate({
        text: 'look',
        attachments: [{ name: 'cat.png', type: 'image/png', data: base64('just some text, not a picture') }],
      }),
      'INVALID_INPUT',
    );
    expect(error.data.fieldErrors?.attachments?.[0]).toBe(
      'attachments[0] "cat.png": declared image/png, but its bytes are not a PNG image.',
    );
    expect(llm.callCount).toBe(0);
    expect((await client.chat.history.query({})).messages).toEqual([]);
  });

  it('refuses what is over the limits, before anything runs', async () => {
    const client = await signedInClient(server, 'attach-limits');
    const file = { name: 'a.txt', type: 'text/plain', data: base64('hello') };
    const tooMany = await expectHearthError(
      client.chat.send.mutate({ text: 'four', attachments: [file, file, file, file] }),
      'INVALID_INPUT',
    );
    expect(tooMany.data.fieldErrors?.attachments?.[0]).toContain('At most 3 attachments');
    const tooBig = await expectHearthError(
      client.chat.send.mutate({ text: 'big', attachments: [{ ...file, data: base64('x'.repeat(60_000)) }] }),
      'INVALID_INPUT',
    );
    expect(tooBig.data.fieldErrors?.attachments?.[0]).toContain('50 KB in all');
    const zip = await expectHearthError(
      client.chat.send.mutate({
        text: 'zip',
        attachments: [{ name: 'a.zip', type: 'application/zip', data: base64('PK\u0003\u0004') }],
      }),
      'INVALID_INPUT',
    );
    expect(zip.data.fieldErrors?.attachments?.[0]).toContain('is not accepted');
    expect(llm.callCount).toBe(0);
    expect((await client.chat.history.query({})).messages).toEqual([]);
  });

  it('cuts long text at the per-message token limit, with a marker', async () => {
    const client = await signedInClient(server, 'attach-long');
    const long = Array.from({ length: 600 }, (_, i) => `line ${i} of the notes`).join('\n');
    llm.enqueue({ text: 'Long notes.' });
    const sent = await client.chat.send.mutate({
      text: 'summarise',
      attachments: [{ name: 'notes.md', type: 'text/markdown', data: base64(long) }],
    });
    expect(sent.userMessage.attachments?.[0]).toMatchObject({ kind: 'text', type: 'text/markdown', truncated: true });
    await collectRun(client, sent.runId);
    const upstream = lastUserParts(llm).text;
    expect(upstream).toContain('line 0 of the notes');
    expect(upstream).not.toContain('line 599 of the notes');
    expect(upstream).toContain('[… truncated: the rest of "notes.md" is over the 200-token limit');
  });

  it('puts the files into the data export and removes them with the account', async () => {
    const email = uniqueEmail('attach-rights');
    const client = server.client();
    await client.auth.register.mutate({ email, password: PASSWORD });
    llm.enqueue({ text: 'ok' });
    const sent = await client.chat.send.mutate({
      text: 'keep this',
      attachments: [{ name: 'code.ts', type: 'text/x-typescript', data: base64('export const x = 1;\n') }],
    });
    await collectRun(client, sent.runId);
    const response = await fetch(`${server.url}/api/v1/user/export`, {
      headers: { authorization: `Bearer ${client.session?.accessToken}` },
    });
    const exported = (await response.json()) as { attachments: Array<{ name: string; data: string; text: string }> };
    expect(exported.attachments).toEqual([
      expect.objectContaining({
        name: 'code.ts',
        data: base64('export const x = 1;\n'),
        text: 'export const x = 1;\n',
      }),
    ]);
    const me = await client.auth.me.query();
    await client.user.deleteAccount.mutate({ password: PASSWORD });
    const { db } = server.hearth.store;
    expect(await db.$count(attachmentSchema.attachments, eq(attachmentSchema.attachments.userId, me.id))).toBe(0);
    expect(await db.$count(attachmentSchema.attachmentBlobs, eq(attachmentSchema.attachmentBlobs.userId, me.id))).toBe(
      0,
    );
  });

  it.runIf(name === 'builtin')(
    'takes attachments over REST too, each answer as the OpenAPI document says',
    async () => {
      const api = await RestContract.load(server.url);
      const { body: auth } = await api.call<{ session: { accessToken: string } }>('POST', '/api/v1/auth/register', {
        body: { email: uniqueEmail('attach-rest'), password: PASSWORD },
      });
      const token = auth.session.accessToken;
      llm.enqueue({ text: 'Got it.' });
      const sent = await api.call<{ userMessage: { attachments: Array<{ id: string; name: string }> } }>(
        'POST',
        '/api/v1/chat/message',
        {
          token,
          body: {
            text: 'read this',
            attachments: [{ name: 'note.pdf', type: 'application/pdf', data: base64(tinyPdf(SECRET)) }],
          },
        },
      );
      expect(sent.status).toBe(202);
      const id = sent.body.userMessage.attachments[0]?.id ?? '';
      const fetched = await api.call<{ name: string; text: string }>('GET', `/api/v1/chat/attachments/${id}`, {
        token,
      });
      expect(fetched.status).toBe(200);
      expect(fetched.body).toMatchObject({ name: 'note.pdf', text: SECRET });
      const missing = await api.call('GET', `/api/v1/chat/attachments/${crypto.randomUUID()}`, { token });
      expect(missing.status).toBe(404);
      const history = await api.call<{ messages: Array<{ attachments?: unknown[] }> }>('GET', '/api/v1/chat/history', {
        token,
      });
      expect(history.body.messages[0]?.attachments).toHaveLength(1);
    },
  );

  it.runIf(name === 'builtin')(
    'refuses an image for a model that cannot read it, before anything is stored or billed',
    async () => {
      const client = await signedInClient(server, 'attach-vision');
      const error = await expectHearthError(
        client.chat.send.mutate({
          text: 'see?',
          model: 'test-text-model',
          attachments: [{ name: 'pixel.png', type: 'image/png', data: PNG_1X1 }],
        }),
        'INVALID_INPUT',
      );
      expect(error.data.fieldErrors?.attachments?.[0]).toBe(
        'The model "test-text-model" cannot read images. Models here that can: test-model.',
      );
      expect(llm.callCount).toBe(0);
      expect((await client.chat.history.query({})).messages).toEqual([]);
      expect((await client.user.usage.query({ groupBy: 'model' })).totals.costUsd).toBe(0);
    },
  );
});

describe.each(testDatabases())(
  'attachments in an S3-compatible bucket (ATTACHMENT_STORAGE=s3), $name',
  ({ location }) => {
    let s3: FakeS3;
    let server: TestServer;

    beforeAll(async () => {
      await warmPdfReader();
      s3 = await startFakeS3({ buckets: ['hearth-files'] });
      server = await startTestServer({
        store: location,
        env: {
          ATTACHMENT_STORAGE: 's3',
          S3_ENDPOINT: s3.url,
          S3_BUCKET: 'hearth-files',
          S3_REGION: s3.region,
          S3_ACCESS_KEY_ID: s3.accessKeyId,
          S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
        },
      });
    });
    afterAll(async () => {
      await server?.close();
      await s3?.close();
    });

    it('keeps the bytes in the bucket, serves them back, and deletes them with the conversation and the account', async () => {
      const email = uniqueEmail('attach-s3');
      const client = server.client();
      await client.auth.register.mutate({ email, password: PASSWORD });
      const sent = await client.chat.send.mutate({
        text: 'a pixel',
        attachments: [{ name: 'pixel.png', type: 'image/png', data: PNG_1X1 }],
      });
      const run = await collectRun(client, sent.runId);
      // The offline demo model takes images and says what it got.
      expect(run.text).toContain('pixel.png');
      const id = sent.userMessage.attachments?.[0]?.id ?? '';
      const me = await client.auth.me.query();
      expect([...s3.objects.keys()]).toEqual([`hearth-files/attachments/${me.id}/${id}`]);
      expect((await client.chat.attachment.query({ id })).data).toBe(PNG_1X1);
      const ready = (await (await fetch(`${server.url}/readyz`)).json()) as { checks: Record<string, string> };
      expect(ready.checks).toMatchObject({ attachments: 'ok' });

      await client.chat.deleteConversation.mutate({ conversationId: sent.conversationId });
      expect(s3.objects.size).toBe(0);
      await expectHearthError(client.chat.attachment.query({ id }), 'NOT_FOUND');

      const again = await client.chat.send.mutate({
        text: 'notes',
        attachments: [{ name: 'notes.md', type: 'text/markdown', data: base64('# Notes\nkeep me') }],
      });
      await collectRun(client, again.runId);
      expect(s3.objects.size).toBe(1);
      await client.user.deleteAccount.mutate({ password: PASSWORD });
      expect(s3.objects.size).toBe(0);
      expect(s3.requests.every((request) => request.signed)).toBe(true);
    });
  },
);
