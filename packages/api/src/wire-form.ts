import superjson from 'superjson';

type WireForm = ReturnType<typeof superjson.serialize>;

const shared = new WeakMap<object, WireForm>();

/**
 * Marks a value that many responses send as is, such as a run event every subscriber of the run is
 * sent: its superjson form is computed here once and reused by `serialize` for each of them. The
 * value must not change afterwards (the run hub never changes an event it has published).
 */
export function sharedWireForm<T extends object>(value: T): T {
  if (!shared.has(value)) shared.set(value, superjson.serialize(value));
  return value;
}

/** superjson, with the forms of shared values computed once (see `sharedWireForm`). */
export const wireTransformer = {
  input: superjson,
  output: {
    serialize: (value: unknown): WireForm =>
      (typeof value === 'object' && value !== null && shared.get(value)) || superjson.serialize(value),
    deserialize: superjson.deserialize,
  },
};
