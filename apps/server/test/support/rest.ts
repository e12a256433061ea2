import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { expect } from 'vitest';

/** The parts of an OpenAPI 3.1 document these tests read. */
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown>; securitySchemes?: Record<string, unknown> };
}
interface Operation {
  security?: unknown[];
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

export interface RestResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export interface SseEvent {
  id: string | undefined;
  event: string | undefined;
  data: { type: string } & Record<string, unknown>;
}

export interface CallOptions {
  token?: string | null;
  body?: unknown;
  /** Sent as is, instead of `body` as JSON. */
  rawBody?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
}

const escapePointer = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * Plain `fetch` against the REST API, holding every answer to the server's own OpenAPI document:
 * the operation is found by method and path, the status must be one it declares, and a JSON body
 * must match the declared schema. SSE answers are checked event by event against RunEvent.
 */
export class RestContract {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly routes: Array<{ template: string; pattern: RegExp }>;
  /** `METHOD template` of every operation answered so far, for coverage checks. */
  readonly seen = new Set<string>();

  private constructor(
    readonly baseUrl: string,
    readonly document: OpenApiDocument,
  ) {
    addFormats.default(this.ajv);
    this.ajv.addSchema({ ...document, $id: 'openapi.json' });
    this.routes = Object.keys(document.paths).map((template) => ({
      template,
      pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
    }));
  }

  static async load(baseUrl: string): Promise<RestContract> {
    const response = await fetch(`${baseUrl}/api/v1/openapi.json`);
    expect(response.status).toBe(200);
    return new RestContract(baseUrl, (await response.json()) as OpenApiDocument);
  }

  /** The document, checked by an OpenAPI 3.1 validator. */
  async validateDocument(): Promise<void> {
    const result = await new Validator().validate(this.document as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  }

  private operation(method: string, path: string): { key: string; operation: Operation; template: string } {
    const route = this.routes.find((r) => r.pattern.test(path));
    const operation = route && this.document.paths[route.template]?.[method.toLowerCase()];
    if (!route || !operation) throw new Error(`${method} ${path} is not in the OpenAPI document`);
    return { key: `${method.toUpperCase()} ${route.template}`, operation, template: route.template };
  }

  private validator(template: string, method: string, status: number, mediaType: string): ValidateFunction {
    const pointer = [
      'paths',
      template,
      method.toLowerCase(),
      'responses',
      String(status),
      'content',
      mediaType,
      'schema',
    ]
      .map(escapePointer)
      .join('/');
    const ref = `openapi.json#/${pointer}`;
    let validate = this.validators.get(ref);
    if (!validate) {
      validate = this.ajv.compile({ $ref: ref });
      this.validators.set(ref, validate);
    }
    return validate;
  }

  private check(method: string, path: string, response: Response): { template: string; mediaType: string } {
    const { key, operation, template } = this.operation(method, path);
    const declared = operation.responses[String(response.status)];
    if (!declared) throw new Error(`${key} answered ${response.status}, which the document does not declare`);
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
    expect(Object.keys(declared.content ?? {}), `${key} ${response.status} media type`).toContain(mediaType);
    this.seen.add(key);
    return { template, mediaType };
  }

  private validateJson(template: string, method: string, status: number, body: unknown): void {
    const validate = this.validator(template, method, status, 'application/json');
    if (!validate(body)) {
      throw new Error(
        `${method} ${template} ${status}: the body does not match the document: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`,
      );
    }
  }

  private request(method: string, path: string, options: CallOptions): Promise<Response> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(options.body);
    }
    const query = options.query ? `?${new URLSearchParams(options.query)}` : '';
    return fetch(`${this.baseUrl}${path}${query}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  }

  /** A JSON call; the answer is checked against the document. */
  async call<T = unknown>(method: string, path: string, options: CallOptions = {}): Promise<RestResponse<T>> {
    const response = await this.request(method, path, options);
    const { template, mediaType } = this.check(method, path, response);
    if (mediaType !== 'application/json') throw new Error(`${method} ${path}: expected JSON, got ${mediaType}`);
    const body = (await response.json()) as T;
    this.validateJson(template, method, response.status, body);
    return { status: response.status, headers: response.headers, body };
  }

  /**
   * A call that answers with an event stream (or a JSON error): reads events until the terminal
   * one, or until `stopAfter` says to hang up (to test resuming).
   */
  async stream(
    method: string,
    path: string,
    options: CallOptions & { stopAfter?: (event: SseEvent, count: number) => boolean } = {},
  ): Promise<RestResponse<unknown> & { events: SseEvent[] }> {
    const headers = { accept: 'text/event-stream', ...options.headers };
    const response = await this.request(method, path, { ...options, headers });
    const { template, mediaType } = this.check(method, path, response);
    if (mediaType === 'application/json') {
      const body = await response.json();
      this.validateJson(template, method, response.status, body);
      return { status: response.status, headers: response.headers, body, events: [] };
    }
    expect(mediaType).toBe('text/event-stream');
    const validateEvent = this.ajv.compile({ $ref: 'openapi.json#/components/schemas/RunEvent' });
    const events: SseEvent[] = [];
    let done = false;
    const parser = createParser({
      onEvent: (message: EventSourceMessage) => {
        if (done) return;
        const data = JSON.parse(message.data) as SseEvent['data'];
        if (!validateEvent(data)) throw new Error(`an SSE event does not match RunEvent: ${message.data}`);
        expect(message.event).toBe(data.type);
        const event = { id: message.id, event: message.event, data };
        events.push(event);
        if (TERMINAL.has(data.type) || options.stopAfter?.(event, events.length)) done = true;
      },
    });
    const reader = response.body?.getReader();
    if (!reader) throw new Error('no body');
    const decoder = new TextDecoder();
    while (!done) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      parser.feed(decoder.decode(value, { stream: true }));
    }
    await reader.cancel().catch(() => {});
    return { status: response.status, headers: response.headers, body: null, events };
  }
}

export const TERMINAL = new Set(['run.completed', 'run.failed', 'run.cancelled']);

/** An event's data, read as the RunEvent variant the test expects (it was validated against the document). */
export function dataOf<T>(event: SseEvent | undefined): T {
  if (!event) throw new Error('no such event');
  return event.data as unknown as T;
}

/** The text a run streamed. */
export const streamedText = (events: SseEvent[]) =>
  events.map((e) => (e.data.type === 'text.delta' ? String(e.data.text) : '')).join('');
