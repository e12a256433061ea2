import { TRPCClientError } from '@trpc/client';
import type { AppRouter, HearthErrorData } from './types';

type FetchFn = typeof globalThis.fetch;

/** tRPC's code for the statuses the REST API answers with, so the error reads as a tRPC call's. */
const TRPC_CODES: Record<number, { key: HearthErrorData['code']; code: number }> = {
  400: { key: 'BAD_REQUEST', code: -32600 },
  401: { key: 'UNAUTHORIZED', code: -32001 },
  403: { key: 'FORBIDDEN', code: -32003 },
  404: { key: 'NOT_FOUND', code: -32004 },
  429: { key: 'TOO_MANY_REQUESTS', code: -32029 },
  502: { key: 'BAD_GATEWAY', code: -32012 },
  503: { key: 'SERVICE_UNAVAILABLE', code: -32013 },
  504: { key: 'GATEWAY_TIMEOUT', code: -32014 },
};

interface RestErrorBody {
  error?: { code?: HearthErrorData['appCode']; message?: string } & Partial<HearthErrorData>;
}

/**
 * `user.exportData()`: the caller's data as one JSON document, `GET /api/v1/user/export`. A tRPC
 * answer is one value built whole in memory, so the document comes from the REST API, streamed: read
 * it with `response.json()`, or pipe `response.body` to a file. A refusal throws a HearthError.
 */
export async function exportData(
  baseUrl: string,
  fetchFn: FetchFn,
  headers: () => Promise<Record<string, string>>,
): Promise<Response> {
  const response = await fetchFn(`${baseUrl}/api/v1/user/export`, { headers: await headers() });
  if (response.ok) return response;
  const body = (await response.json().catch(() => null)) as RestErrorBody | null;
  const { code: appCode, message, ...details } = body?.error ?? {};
  const trpc = TRPC_CODES[response.status] ?? { key: 'INTERNAL_SERVER_ERROR', code: -32603 };
  const data: HearthErrorData = {
    ...details,
    appCode: appCode ?? 'INTERNAL',
    code: trpc.key,
    httpStatus: response.status,
    path: 'user.exportData',
  };
  throw TRPCClientError.from<AppRouter>({ error: { code: trpc.code, message: message ?? response.statusText, data } });
}
