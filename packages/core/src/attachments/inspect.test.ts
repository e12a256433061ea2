import { describe, expect, it } from 'vitest';
import { isAppError } from '../domain/errors';
import { decodeText, inspect, sniffImage } from './inspect';

const bytes = (...values: number[]) => new Uint8Array(values);
const text = (value: string) => new TextEncoder().encode(value);
const PNG = bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0);
const JPEG = bytes(0xff, 0xd8, 0xff, 0xe0, 0, 0);

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (isAppError(error, 'INVALID_INPUT')) return error.data.fieldErrors?.attachments?.[0] ?? '';
    throw error;
  }
  throw new Error('expected INVALID_INPUT');
}

describe('attachment inspection by magic bytes', () => {
  it('knows the image formats by their first bytes', () => {
    expect(sniffImage(PNG)).toBe('image/png');
    expect(sniffImage(JPEG)).toBe('image/jpeg');
    expect(sniffImage(text('GIF89a...'))).toBe('image/gif');
    expect(sniffImage(text('RIFF\u0000\u0000\u0000\u0000WEBPVP8 '))).toBe('image/webp');
    expect(sniffImage(text('hello'))).toBeNull();
  });

  it('takes what the bytes say, when they agree with the declared type', () => {
    expect(inspect(PNG, 'image/png', 'a.png', 'f')).toEqual({ kind: 'image', mediaType: 'image/png' });
    expect(inspect(JPEG, 'image/jpg', 'a.jpg', 'f')).toEqual({ kind: 'image', mediaType: 'image/jpeg' });
    expect(inspect(text('%PDF-1.4\n'), 'application/pdf', 'a.pdf', 'f')).toEqual({
      kind: 'text',
      mediaType: 'application/pdf',
    });
    expect(inspect(text('# Title'), 'text/markdown; charset=utf-8', 'a.md', 'f')).toEqual({
      kind: 'text',
      mediaType: 'text/markdown',
    });
    // No useful type: a code file by its extension.
    expect(inspect(text('fn main() {}'), '', 'main.rs', 'f')).toEqual({ kind: 'text', mediaType: 'text/plain' });
    expect(inspect(text('{"a":1}'), 'application/json', 'a.json', 'f').kind).toBe('text');
  });

  it('refuses bytes that are not what was declared, naming the field', () => {
    expect(refusal(() => inspect(text('not an image'), 'image/png', 'cat.png', 'attachments[0] "cat.png"'))).toBe(
      'attachments[0] "cat.png": declared image/png, but its bytes are not a PNG image.',
    );
    expect(refusal(() => inspect(JPEG, 'image/png', 'cat.png', 'f'))).toBe(
      'f: declared image/png, but its bytes are image/jpeg.',
    );
    expect(refusal(() => inspect(text('hello'), 'application/pdf', 'a.pdf', 'f'))).toContain('not a PDF');
    expect(refusal(() => inspect(PNG, 'text/plain', 'a.txt', 'f'))).toContain('its bytes are image/png');
    expect(refusal(() => inspect(bytes(0xc3, 0x28), 'text/plain', 'a.txt', 'f'))).toContain('not UTF-8 text');
    expect(refusal(() => inspect(text('PK'), 'application/zip', 'a.zip', 'f'))).toContain('is not accepted');
    // An SVG is XML: its text goes into the context, as a vision model would not take it as an image.
    expect(inspect(text('<svg/>'), 'image/svg+xml', 'a.svg', 'f')).toEqual({
      kind: 'text',
      mediaType: 'image/svg+xml',
    });
  });

  it('reads text as UTF-8 only, without NUL', () => {
    expect(decodeText(text('héllo'))).toBe('héllo');
    expect(decodeText(bytes(0x61, 0x00))).toBeNull();
    expect(decodeText(bytes(0xff))).toBeNull();
  });
});
