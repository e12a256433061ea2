import { type FakeS3, startFakeS3 } from '@hearth/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../../domain/errors';
import { S3AttachmentStorage } from './s3-attachment-storage';

describe('S3AttachmentStorage against a fake S3 at its HTTP boundary', () => {
  let s3: FakeS3;
  let storage: S3AttachmentStorage;
  const options = () => ({
    endpoint: s3.url,
    bucket: 'hearth',
    region: s3.region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });

  beforeAll(async () => {
    s3 = await startFakeS3();
    storage = new S3AttachmentStorage(options());
  });
  beforeEach(() => {
    s3.requests.length = 0;
  });
  afterAll(() => s3?.close());

  it('puts, gets and deletes objects path-style under its prefix, every request signed', async () => {
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    await storage.put({ key: 'user-1/file a+b.png', userId: 'user-1', mediaType: 'image/png', bytes });
    expect([...s3.objects.keys()]).toContain('hearth/attachments/user-1/file a+b.png');
    expect(s3.objects.get('hearth/attachments/user-1/file a+b.png')?.contentType).toBe('image/png');
    expect(await storage.get('user-1/file a+b.png')).toEqual(bytes);
    expect(await storage.get('user-1/missing')).toBeNull();
    await storage.delete(['user-1/file a+b.png', 'user-1/missing']);
    expect(s3.objects.size).toBe(0);
    expect(await storage.probe()).toBe(true);
    expect(s3.requests.map((r) => [r.method, r.signed])).toEqual([
      ['PUT', true],
      ['GET', true],
      ['GET', true],
      ['DELETE', true],
      ['DELETE', true],
      ['HEAD', true],
    ]);
  });

  it('fails with UPSTREAM_UNAVAILABLE, no body of the service in it, when the service refuses', async () => {
    const wrong = new S3AttachmentStorage({ ...options(), secretAccessKey: 'not-the-secret' });
    const error = await wrong
      .put({ key: 'k', userId: 'u', mediaType: 'text/plain', bytes: new Uint8Array([1]) })
      .catch((e: unknown) => e);
    expect(isAppError(error, 'UPSTREAM_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toBe('The attachment storage refused to store a file (HTTP 403).');
    expect(s3.requests.at(-1)).toMatchObject({ method: 'PUT', signed: false });
    expect(await wrong.probe()).toBe(false);

    s3.failNext(1);
    const slow = await storage.get('k').catch((e: unknown) => e);
    expect(isAppError(slow, 'UPSTREAM_UNAVAILABLE')).toBe(true);
    expect((slow as { data: { retryable?: boolean } }).data.retryable).toBe(true);
  });

  it('fails with UPSTREAM_UNAVAILABLE when nothing answers', async () => {
    const gone = new S3AttachmentStorage({ ...options(), endpoint: 'http://127.0.0.1:1', timeoutMs: 1_000 });
    const error = await gone.get('k').catch((e: unknown) => e);
    expect(isAppError(error, 'UPSTREAM_UNAVAILABLE')).toBe(true);
    expect(await gone.probe()).toBe(false);
  });
});
