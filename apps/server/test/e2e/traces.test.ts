import { randomBytes } from 'node:crypto';
import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { propagation, trace } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type OtlpReceiver, type ReceivedSpan, SPAN_KIND_SERVER, startOtlpReceiver } from '../support/otlp-receiver';
import { collectRun } from '../support/run-events';
import { PASSWORD, startTestServer, type TestServer, testLlmClient, uniqueEmail } from '../support/test-server';

const HOLD = 'hold on';

function startLlm(): Promise<LlmTestServer> {
  return startLlmTestServer({
    respond: (request) => ({
      text: 'one two three',
      usage: { promptTokens: 40, completionTokens: 3 },
      // "hold on" keeps its run waiting for a first token until it is cancelled.
      ttftMs: JSON.stringify(request.messages).includes(HOLD) ? 60_000 : 5,
    }),
  });
}

const only = (spans: ReceivedSpan[], predicate: (span: ReceivedSpan) => boolean): ReceivedSpan => {
  const found = spans.filter(predicate);
  expect(found, `spans: ${spans.map((span) => span.name).join(', ')}`).toHaveLength(1);
  return found[0] as ReceivedSpan;
};

/** Every string a span carries: its name, attributes, events and resource. */
function spanStrings(span: ReceivedSpan): string[] {
  const values = [
    span.name,
    ...Object.values(span.attributes),
    ...Object.values(span.resource),
    ...span.events.flatMap((event) => [event.name, ...Object.values(event.attributes)]),
  ];
  return values.flat(2).map(String);
}

describe('traces off: OTEL_EXPORTER_OTLP_ENDPOINT unset', () => {
  let llm: LlmTestServer;
  let server: TestServer;
  beforeAll(async () => {
    llm = await startLlm();
    server = await startTestServer({ store: { kind: 'pglite-memory' }, llm: testLlmClient(llm) });
  });
  afterAll(async () => {
    await server?.close();
    await llm?.close();
  });

  it('registers no tracer provider or propagator, so no span is recorded anywhere', async () => {
    const client = server.client();
    await client.auth.register.mutate({ email: uniqueEmail('untraced'), password: PASSWORD });
    const sent = await client.chat.send.mutate({ text: 'nobody is watching' });
    expect((await collectRun(client, sent.runId)).terminal?.type).toBe('run.completed');

    // Registered, the SDK would make every span of the process a recording one.
    const probe = trace.getTracer('hearth').startSpan('probe');
    expect(probe.isRecording()).toBe(false);
    expect(probe.spanContext().traceId).toBe('00000000000000000000000000000000');
    probe.end();
    expect(propagation.fields()).toEqual([]);
    expect(server.hearth.describe()).not.toContain('traces');
  });
});

describe('traces on: OTEL_EXPORTER_OTLP_ENDPOINT points at a collector', () => {
  let llm: LlmTestServer;
  let receiver: OtlpReceiver;
  let server: TestServer;
  beforeAll(async () => {
    // The SDK's own setting, read from the environment: export every 50 ms rather than every 5 s.
    vi.stubEnv('OTEL_BSP_SCHEDULE_DELAY', '50');
    llm = await startLlm();
    receiver = await startOtlpReceiver();
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      llm: testLlmClient(llm),
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
    });
  });
  afterEach(() => {
    receiver.spans.length = 0;
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await server?.close();
    await receiver?.close();
    await llm?.close();
  });

  it('exports one trace per send: the HTTP request, then chat.run, its llm.call and store spans', async () => {
    const email = uniqueEmail('traced');
    const text = 'my secret recipe is plum pudding with saffron';
    const client = server.client();
    await client.auth.register.mutate({ email, password: PASSWORD });
    const me = await client.auth.me.query();
    const sent = await client.chat.send.mutate({ text });
    const outcome = await collectRun(client, sent.runId);
    expect(outcome.terminal?.type).toBe('run.completed');

    const spans = await receiver.waitFor((received) =>
      received.some((span) => span.name === 'chat.run' && span.attributes['hearth.run.id'] === sent.runId),
    );
    expect(receiver.requests.every((request) => request.path === '/v1/traces')).toBe(true);
    expect(spans.every((span) => span.resource['service.name'] === 'hearth' && span.scope === 'hearth')).toBe(true);

    const request = only(spans, (span) => span.name === 'POST /trpc/chat.send');
    expect(request.kind).toBe(SPAN_KIND_SERVER);
    expect(request.parentSpanId).toBe('');
    expect(request.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/trpc/chat.send',
      'http.response.status_code': 200,
    });
    const inTrace = spans.filter((span) => span.traceId === request.traceId);
    const childrenOf = (parent: ReceivedSpan) => inTrace.filter((span) => span.parentSpanId === parent.spanId);

    const run = only(inTrace, (span) => span.name === 'chat.run');
    expect(run.parentSpanId).toBe(request.spanId);
    expect(run.attributes).toMatchObject({
      'hearth.run.id': sent.runId,
      'hearth.user.id': me.id,
      'hearth.conversation.id': sent.conversationId,
      'hearth.run.model': 'test-model',
      'hearth.run.status': 'completed',
      'gen_ai.usage.input_tokens': 40,
      'gen_ai.usage.output_tokens': 3,
    });
    expect(run.statusCode).not.toBe(2);
    // The run's first write is the request's; the rest are the run's own.
    expect(childrenOf(request).map((span) => span.name)).toContain('store.startRun');
    const runChildren = childrenOf(run).map((span) => span.name);
    expect(runChildren).toEqual(expect.arrayContaining(['store.turnContext', 'llm.call', 'store.finishRun']));

    const call = only(inTrace, (span) => span.name === 'llm.call');
    expect(call.parentSpanId).toBe(run.spanId);
    expect(call.attributes).toMatchObject({
      'gen_ai.request.model': 'test-model',
      'gen_ai.usage.input_tokens': 40,
      'gen_ai.usage.output_tokens': 3,
      'gen_ai.response.finish_reasons': ['stop'],
      'hearth.run.id': sent.runId,
    });
    expect(call.attributes['hearth.llm.time_to_first_token_ms']).toEqual(expect.any(Number));
    // The step's reservation: taken before the call, settled for what it used.
    expect(childrenOf(call).map((span) => span.name)).toEqual(
      expect.arrayContaining(['store.reserve', 'store.settle']),
    );

    // What the user wrote, their email and password are on no span, and neither is the answer.
    const strings = spans.flatMap(spanStrings);
    for (const secret of [text, 'plum pudding', email, PASSWORD, outcome.text]) {
      expect(strings.filter((value) => value.includes(secret))).toEqual([]);
    }
  });

  it("continues the caller's trace from its W3C traceparent header", async () => {
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    const client = server.client({ headers: { traceparent: `00-${traceId}-${parentId}-01` } });
    await client.auth.register.mutate({ email: uniqueEmail('continued'), password: PASSWORD });
    const sent = await client.chat.send.mutate({ text: 'part of a bigger trace' });
    expect((await collectRun(client, sent.runId)).terminal?.type).toBe('run.completed');

    const spans = await receiver.waitFor((received) =>
      received.some((span) => span.name === 'chat.run' && span.attributes['hearth.run.id'] === sent.runId),
    );
    const request = only(spans, (span) => span.name === 'POST /trpc/chat.send');
    expect(request.traceId).toBe(traceId);
    expect(request.parentSpanId).toBe(parentId);
    const run = only(spans, (span) => span.name === 'chat.run');
    expect(run.traceId).toBe(traceId);
    expect(run.parentSpanId).toBe(request.spanId);
  });

  it('marks a cancelled run with an event, and its interrupted model call', async () => {
    const client = server.client();
    await client.auth.register.mutate({ email: uniqueEmail('cancelled'), password: PASSWORD });
    const callsBefore = llm.callCount;
    const sent = await client.chat.send.mutate({ text: HOLD });
    const collected = collectRun(client, sent.runId);
    // Cancelled once the model call is under way, so there is one to interrupt (not before it starts).
    while (llm.callCount === callsBefore) await new Promise((resolve) => setTimeout(resolve, 10));
    await client.chat.cancel.mutate({ runId: sent.runId });
    expect((await collected).terminal?.type).toBe('run.cancelled');

    // The cancel's own request span may be exported after the run's: wait for both.
    const spans = await receiver.waitFor(
      (received) =>
        received.some((span) => span.name === 'chat.run' && span.attributes['hearth.run.id'] === sent.runId) &&
        received.some((span) => span.name === 'POST /trpc/chat.cancel'),
    );
    const run = only(spans, (span) => span.name === 'chat.run');
    expect(run.attributes['hearth.run.status']).toBe('cancelled');
    expect(run.events.map((event) => event.name)).toContain('run.cancelled');
    const call = only(spans, (span) => span.name === 'llm.call' && span.parentSpanId === run.spanId);
    expect(call.attributes['error.type']).toBe('AbortError');
    expect(only(spans, (span) => span.name === 'POST /trpc/chat.cancel').traceId).not.toBe(run.traceId);
  });
});
