import { AwsClient } from 'aws4fetch';
import { AppError } from '../../domain/errors';
import type { AttachmentStorage } from '../../ports/attachment-storage';

export interface S3StorageOptions {
  /** The service's URL: `https://s3.<region>.amazonaws.com`, MinIO's, R2's, or Supabase's `https://<ref>.supabase.co/storage/v1/s3`. */
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Every object's key starts with this (`attachments/`). */
  prefix?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Each segment of a key encoded as S3's canonical URI wants it ('/' kept). */
const encodeKey = (key: string) =>
  key
    .split('/')
    .map((part) =>
      encodeURIComponent(part).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    )
    .join('/');

/**
 * ATTACHMENT_STORAGE=s3: the bytes as objects in an S3-compatible bucket, addressed path-style
 * (`<endpoint>/<bucket>/<key>`, which MinIO, R2 and Supabase Storage's S3 endpoint all take), each
 * request signed with AWS Signature V4 by aws4fetch. A failure is UPSTREAM_UNAVAILABLE with no body of
 * the service's in its message.
 */
export class S3AttachmentStorage implements AttachmentStorage {
  readonly kind = 's3' as const;
  private readonly client: AwsClient;
  private readonly base: string;
  private readonly prefix: string;
  private readonly timeoutMs: number;

  constructor(options: S3StorageOptions) {
    this.client = new AwsClient({
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      service: 's3',
      region: options.region,
      // Retries are the caller's: a send fails at once and says so.
      retries: 0,
    });
    this.base = `${options.endpoint.replace(/\/+$/, '')}/${encodeURIComponent(options.bucket)}`;
    this.prefix = options.prefix ?? 'attachments/';
    this.timeoutMs = options.timeoutMs ?? 15_000;
    if (options.fetch) {
      const signed = this.client;
      const send = options.fetch;
      this.request = async (url, init) => send(await signed.sign(url, init));
    }
  }

  private request = (url: string, init: RequestInit): Promise<Response> => this.client.fetch(url, init);

  private url(key: string): string {
    return `${this.base}/${encodeKey(this.prefix + key)}`;
  }

  private async call(method: string, key: string | null, init: RequestInit = {}): Promise<Response> {
    try {
      return await this.request(key === null ? `${this.base}/` : this.url(key), {
        ...init,
        method,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new AppError(
        'UPSTREAM_UNAVAILABLE',
        'The attachment storage did not answer.',
        { retryable: true },
        {
          cause: error,
        },
      );
    }
  }

  private failed(action: string, response: Response): AppError {
    void response.body?.cancel();
    return new AppError(
      'UPSTREAM_UNAVAILABLE',
      `The attachment storage refused to ${action} (HTTP ${response.status}).`,
      {
        retryable: response.status >= 500 || response.status === 429,
      },
    );
  }

  async put(object: { key: string; userId: string; mediaType: string; bytes: Uint8Array }): Promise<void> {
    const response = await this.call('PUT', object.key, {
      body: object.bytes.slice(),
      headers: { 'content-type': object.mediaType, 'content-length': String(object.bytes.byteLength) },
    });
    if (!response.ok) throw this.failed('store a file', response);
    void response.body?.cancel();
  }

  async get(key: string): Promise<Uint8Array | null> {
    const response = await this.call('GET', key);
    if (response.status === 404) {
      void response.body?.cancel();
      return null;
    }
    if (!response.ok) throw this.failed('read a file', response);
    return new Uint8Array(await response.arrayBuffer());
  }

  async delete(keys: readonly string[]): Promise<void> {
    // One DELETE each (DeleteObjects needs a Content-MD5 some S3-compatible services do not check alike).
    for (const key of keys) {
      const response = await this.call('DELETE', key);
      if (!response.ok && response.status !== 404) throw this.failed('delete a file', response);
      void response.body?.cancel();
    }
  }

  /** HEAD on the bucket: whether it exists and these credentials reach it. */
  async probe(): Promise<boolean> {
    try {
      const response = await this.call('HEAD', null);
      void response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  }
}
