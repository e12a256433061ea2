import type { HearthClient } from '@hearth/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectHearthError } from '../support/expect-error';
import { chatTurn } from '../support/run-events';
import { PASSWORD, signedInClient, startTestServer, type TestServer, uniqueEmail } from '../support/test-server';

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** What a user can see of their own data: none of it may change when a call is refused. */
async function snapshot(client: HearthClient) {
  const [conversations, history, memory, profile, usage] = await Promise.all([
    client.chat.conversations.query({}),
    client.chat.history.query({}),
    client.agent.memory.query(),
    client.user.profile.query(),
    client.user.usage.query({}),
  ]);
  return { conversations, history, memory, profile, usage };
}

describe('text a store cannot hold, and forged cursors', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ store: { kind: 'pglite-memory' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it.each([
    ['a NUL character', 'before\u0000after'],
    ['a lone high surrogate', 'before\uD800after'],
    ['a lone low surrogate', '\uDC00'],
  ])('refuses %s in every stored string with INVALID_INPUT naming the field', async (_, bad) => {
    const client = await signedInClient(server, 'nul');
    await chatTurn(client, 'hello');
    const conversation = await client.chat.createConversation.mutate({ title: 'kept' });
    const before = await snapshot(client);
    const refusals: Array<[string, () => Promise<unknown>]> = [
      ['text', () => client.chat.send.mutate({ text: bad })],
      ['text', () => client.chat.send.mutate({ text: bad, conversationId: conversation.id })],
      ['title', () => client.chat.createConversation.mutate({ title: bad })],
      ['title', () => client.chat.renameConversation.mutate({ conversationId: conversation.id, title: bad })],
      ['label', () => client.agent.updateMemory.mutate({ label: bad, value: 'v' })],
      ['value', () => client.agent.updateMemory.mutate({ label: 'human', value: bad })],
      ['displayName', () => client.user.updateProfile.mutate({ displayName: bad })],
      ['model', () => client.chat.send.mutate({ text: 'hi', model: bad })],
      ['cursor', () => client.chat.history.query({ cursor: bad })],
    ];
    for (const [field, call] of refusals) {
      const error = await expectHearthError(call(), 'INVALID_INPUT');
      expect(Object.keys(error.data.fieldErrors ?? {})).toEqual([field]);
    }
    const signedOut = server.client();
    const registration = signedOut.auth.register.mutate({ email: uniqueEmail(), password: PASSWORD, displayName: bad });
    expect((await expectHearthError(registration, 'INVALID_INPUT')).data.fieldErrors).toHaveProperty('displayName');
    expect(await snapshot(client)).toEqual(before);
  });

  it.each([
    ['a time that is not one', { at: 'garbage', id: 'x' }],
    ['a number for a time', { at: 1e20 }],
    ['objects for fields', { at: {}, id: [] }],
    ['a year the store cannot hold', { at: '0000-01-01T00:00:00.000Z', id: crypto.randomUUID() }],
    ['extra fields', { at: new Date().toISOString(), id: crypto.randomUUID(), userId: crypto.randomUUID() }],
  ])('refuses a conversations cursor with %s as INVALID_INPUT (field cursor)', async (_, forged) => {
    const client = await signedInClient(server, 'cursor');
    const error = await expectHearthError(
      client.chat.conversations.query({ cursor: cursorOf(forged) }),
      'INVALID_INPUT',
    );
    expect(error.data.fieldErrors).toHaveProperty('cursor');
  });

  it('refuses a forged history cursor, and one of another conversation, alike', async () => {
    const client = await signedInClient(server, 'cursor');
    const { id } = await client.chat.createConversation.mutate({});
    const forged = [
      { c: id, s: 'abc' },
      { c: id, s: 1e20 },
      { c: id, s: -1 },
      { c: id, s: 1.5 },
      { c: 'not-a-uuid', s: 1 },
      { c: crypto.randomUUID(), s: 1 },
      [id, 1],
      null,
    ];
    const answers = new Set<string>();
    for (const value of forged) {
      const call = client.chat.history.query({ conversationId: id, cursor: cursorOf(value) });
      const error = await expectHearthError(call, 'INVALID_INPUT');
      answers.add(JSON.stringify([error.message, error.data.fieldErrors]));
    }
    const notJson = client.chat.history.query({ conversationId: id, cursor: '!!!not base64' });
    const error = await expectHearthError(notJson, 'INVALID_INPUT');
    answers.add(JSON.stringify([error.message, error.data.fieldErrors]));
    expect(answers.size).toBe(1);
  });
});
