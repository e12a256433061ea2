/** Any port of the loopback names a browser may show: a dev server, `vite preview`, a test page. */
const LOOPBACK_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/;

export interface CorsOriginPolicy {
  /** Exact origins (`scheme://host[:port]`); `*` allows any. */
  origins: string[];
  /** Also allow http(s) origins on localhost, 127.0.0.1 and [::1], any port (development). */
  allowLoopback: boolean;
}

/** Hono's `cors({ origin })`: the origin to echo back, or null to send no CORS headers. */
export function corsOrigin(policy: CorsOriginPolicy): string | ((origin: string) => string | null) {
  if (policy.origins.includes('*')) return '*';
  const exact = new Set(policy.origins);
  return (origin) => (exact.has(origin) || (policy.allowLoopback && LOOPBACK_ORIGIN.test(origin)) ? origin : null);
}
