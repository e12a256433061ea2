/**
 * A server-sent event stream written by hand rather than through web-stream pipelines: a frame is
 * handed to the socket as bytes that were built once for every subscriber (see `frameOnce`), each
 * stream has one small queue with a fixed bound, and one timer pings every open stream. With a
 * thousand subscribers on one run this is what keeps the event loop free (`pnpm bench:fanout`).
 */

export interface EventStreamOptions {
  /** A subscriber whose unsent bytes pass this is not reading: its stream is dropped. */
  maxQueuedBytes?: number;
  /** Called once when the stream ends for any reason: the client left, it stalled, or `end()`. */
  onClose?: () => void;
}

export interface EventStream {
  readonly body: ReadableStream<Uint8Array>;
  /** False once the stream has ended; writes after that are ignored. */
  readonly open: boolean;
  /** Queues a frame; returns false (and ends the stream) when the subscriber has stalled. */
  write(frame: Uint8Array): boolean;
  end(): void;
}

export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024;

const encoder = new TextEncoder();

export function eventStream(options: EventStreamOptions = {}): EventStream {
  const maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
  let controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  let open = true;
  const close = (closeBody: boolean) => {
    if (!open) return;
    open = false;
    if (closeBody) {
      try {
        controller?.close();
      } catch {
        // Already cancelled by the reader.
      }
    }
    options.onClose?.();
  };
  const body = new ReadableStream<Uint8Array>(
    {
      start: (c) => {
        controller = c;
      },
      cancel: () => close(false),
    },
    // desiredSize then counts the bytes the socket has not taken yet (the HTTP server reads on only
    // after a drain), which is how a stalled reader is noticed.
    new ByteLengthQueuingStrategy({ highWaterMark: maxQueuedBytes }),
  );
  return {
    body,
    get open() {
      return open;
    },
    write(frame) {
      if (!open || !controller) return false;
      if ((controller.desiredSize ?? 0) < frame.byteLength) {
        // Holding more for a reader that is not reading would grow without bound; it may resume
        // from its last event id when it is back.
        close(true);
        return false;
      }
      controller.enqueue(frame);
      return true;
    },
    end: () => close(true),
  };
}

/** `event:`/`data:`/`id:` lines as bytes; `data` must hold no line break (JSON has none). */
export function sseFrame(fields: { event?: string; data: string; id?: string }): Uint8Array {
  let text = '';
  if (fields.event !== undefined) text += `event: ${fields.event}\n`;
  text += `data: ${fields.data}\n`;
  if (fields.id !== undefined) text += `id: ${fields.id}\n`;
  return encoder.encode(`${text}\n`);
}

const frames = new WeakMap<object, Uint8Array>();

/**
 * The frame of a value many streams send as is (a run event every subscriber of the run gets):
 * built on first use and reused, so fan-out costs one serialisation per event, not per subscriber.
 * The value must not change afterwards.
 */
export function frameOnce(value: object, build: () => Uint8Array): Uint8Array {
  let frame = frames.get(value);
  if (!frame) {
    frame = build();
    frames.set(value, frame);
  }
  return frame;
}

/**
 * One timer for all open streams: a timer per stream would be a thousand timers re-armed on every
 * event. Streams join while open and leave when they end.
 */
export class SharedPinger {
  private readonly streams = new Set<EventStream>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly intervalMs: number,
    private readonly frame: Uint8Array,
  ) {}

  add(stream: EventStream): () => void {
    this.streams.add(stream);
    if (!this.timer) {
      this.timer = setInterval(() => this.pingAll(), this.intervalMs);
      this.timer.unref();
    }
    return () => {
      this.streams.delete(stream);
      if (this.streams.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  private pingAll(): void {
    for (const stream of this.streams) stream.write(this.frame);
  }
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
} as const;
