import { type Attributes, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { isAppError } from '../domain/errors';

/**
 * Hearth's spans go through the OpenTelemetry API alone: without a registered provider (the
 * server registers one only when an OTLP endpoint is configured) every call here is a no-op.
 * The tracer is asked for on each span, not kept: a provider registered (or shut down) after this
 * module loaded is then the one used.
 */
export const tracer = () => trace.getTracer('hearth');

/**
 * What a failed span says about its error: the appCode, or the error's class. Never its message,
 * which may quote SQL or what a user wrote.
 */
export function errorType(error: unknown): string {
  if (isAppError(error)) return error.appCode;
  if (error instanceof Error) return error.name;
  return 'unknown';
}

/** Marks `span` failed with `errorType`; a span's status never holds an error message. */
export function markFailed(span: Span, type: string): void {
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/**
 * Runs `work` in a new span, the active one while it runs (so spans it starts, across every await,
 * are its children), ended when `work` settles; a throw marks it failed.
 */
export function inSpan<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      markFailed(span, errorType(error));
      throw error;
    } finally {
      span.end();
    }
  });
}

type AsyncMethodName<T> = {
  [K in keyof T]: T[K] extends (...args: never[]) => Promise<unknown> ? K : never;
}[keyof T] &
  string;

/**
 * `target` with each of `methods` run in a span named `<prefix>.<method>`: coarse spans for the
 * store work of a run, added where the store is built rather than in every method. Everything else
 * reaches `target` itself.
 */
export function traceMethods<T extends object>(target: T, prefix: string, methods: readonly AsyncMethodName<T>[]): T {
  const traced = new Map<PropertyKey, (...args: unknown[]) => Promise<unknown>>();
  for (const name of methods) {
    const method = target[name] as (...args: unknown[]) => Promise<unknown>;
    traced.set(name, (...args) => inSpan(`${prefix}.${name}`, {}, () => method.apply(target, args)));
  }
  return new Proxy(target, {
    get: (object, key) => traced.get(key) ?? Reflect.get(object, key, object),
  });
}
