import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeS3Options {
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
  /** Buckets that exist; others answer NoSuchBucket. */
  buckets?: string[];
}

export interface FakeS3Request {
  method: string;
  path: string;
  /** The signature checked out (AWS Signature V4, computed here from the request as received). */
  signed: boolean;
}

export interface FakeS3 {
  url: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** bucket/key → bytes and content type. */
  objects: Map<string, { bytes: Buffer; contentType: string }>;
  requests: FakeS3Request[];
  /** The next `count` requests answer 503 SlowDown. */
  failNext(count: number): void;
  close(): Promise<void>;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** S3's URI encoding: every byte but unreserved characters, as %XX in upper case. */
const uriEncode = (value: string) =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function xmlError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Checks an `Authorization: AWS4-HMAC-SHA256 …` header the way S3 does: the canonical request
 * rebuilt from what arrived (method, path as sent, sorted query, the signed headers), the payload's
 * SHA-256 against `x-amz-content-sha256`, the key derived from the secret, date, region and `s3`.
 * Written from the AWS documentation, independent of the client library under test.
 */
function verifySignature(
  req: IncomingMessage,
  body: Buffer,
  options: Required<Omit<FakeS3Options, 'buckets'>>,
): string | null {
  const header = req.headers.authorization ?? '';
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      header,
    );
  if (!match) return 'AccessDenied: no AWS Signature V4 Authorization header';
  const [, accessKeyId, date, region, signedHeaders, signature] = match as unknown as string[];
  if (accessKeyId !== options.accessKeyId) return 'InvalidAccessKeyId';
  if (region !== options.region) return 'AuthorizationHeaderMalformed: wrong region';
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  if (!amzDate.startsWith(date ?? '-')) return 'AccessDenied: x-amz-date does not match the credential scope';
  const payloadHash = String(req.headers['x-amz-content-sha256'] ?? '');
  if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== sha256(body)) return 'XAmzContentSHA256Mismatch';
  const url = new URL(req.url ?? '/', 'http://fake');
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const names = (signedHeaders ?? '').split(';');
  if (!names.includes('host') || !names.includes('x-amz-date'))
    return 'AccessDenied: host and x-amz-date must be signed';
  const canonicalHeaders = names
    .map(
      (name) =>
        `${name}:${String(req.headers[name] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const canonicalRequest = [req.method, url.pathname, query, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${options.secretAccessKey}`, date ?? ''), region ?? ''), 's3'), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  const given = Buffer.from(signature ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected) ? null : 'SignatureDoesNotMatch';
}

/**
 * A stand-in for an S3-compatible object store at its HTTP boundary, path-style
 * (`/<bucket>/<key>`): PUT, GET, DELETE and HEAD of objects, HEAD of a bucket, each request's
 * Signature V4 verified, S3's XML error bodies.
 */
export async function startFakeS3(options: FakeS3Options = {}): Promise<FakeS3> {
  const settings = {
    accessKeyId: options.accessKeyId ?? 'AKIAFAKEHEARTH',
    secretAccessKey: options.secretAccessKey ?? 'fake-secret-access-key-0123456789',
    region: options.region ?? 'us-east-1',
  };
  const buckets = new Set(options.buckets ?? ['hearth']);
  const objects = new Map<string, { bytes: Buffer; contentType: string }>();
  const requests: FakeS3Request[] = [];
  let failures = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://fake');
      const refused = verifySignature(req, body, settings);
      requests.push({ method: req.method ?? '', path: url.pathname, signed: refused === null });
      if (refused) return xmlError(res, 403, refused.split(':')[0] ?? 'AccessDenied', refused);
      if (failures > 0) {
        failures -= 1;
        return xmlError(res, 503, 'SlowDown', 'Please reduce your request rate.');
      }
      const [, bucket = '', ...rest] = url.pathname.split('/');
      const key = rest.map((part) => decodeURIComponent(part)).join('/');
      if (!buckets.has(bucket)) return xmlError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
      if (key === '') {
        if (req.method === 'HEAD') return res.writeHead(200).end();
        return xmlError(res, 501, 'NotImplemented', 'Only object operations are implemented');
      }
      const id = `${bucket}/${key}`;
      switch (req.method) {
        case 'PUT':
          objects.set(id, {
            bytes: body,
            contentType: String(req.headers['content-type'] ?? 'application/octet-stream'),
          });
          res.writeHead(200, { etag: `"${createHash('md5').update(body).digest('hex')}"` }).end();
          return;
        case 'GET':
        case 'HEAD': {
          const object = objects.get(id);
          if (!object) {
            if (req.method === 'HEAD') return res.writeHead(404).end();
            return xmlError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
          }
          res.writeHead(200, { 'content-type': object.contentType, 'content-length': object.bytes.length });
          res.end(req.method === 'GET' ? object.bytes : undefined);
          return;
        }
        case 'DELETE':
          // S3 answers 204 whether or not the key existed.
          objects.delete(id);
          res.writeHead(204).end();
          return;
        default:
          return xmlError(res, 405, 'MethodNotAllowed', 'The specified method is not allowed');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    ...settings,
    objects,
    requests,
    failNext: (count) => {
      failures = count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
