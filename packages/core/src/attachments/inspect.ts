import { extractText, getDocumentProxy, getResolvedPDFJS } from 'unpdf';
import type { AttachmentKind } from '../domain/attachment';
import { AppError } from '../domain/errors';

/** Image formats a vision model is sent (what OpenAI, Anthropic and Gemini all take). */
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;

/** Text-like media types taken besides `text/*`: data and code formats that are text. */
const TEXT_TYPES = new Set([
  'application/json',
  'application/ld+json',
  'application/xml',
  'application/javascript',
  'application/typescript',
  'application/x-typescript',
  'application/x-javascript',
  'application/yaml',
  'application/x-yaml',
  'application/toml',
  'application/x-sh',
  'application/sql',
  'application/graphql',
]);

/** Extensions read as text when a client declares no useful type (`application/octet-stream`, empty). */
const TEXT_EXTENSIONS =
  /\.(txt|md|markdown|csv|tsv|json|jsonl|yaml|yml|toml|ini|xml|html|css|js|mjs|cjs|jsx|ts|tsx|py|rb|go|rs|java|kt|c|h|cc|cpp|hpp|cs|php|sh|bash|zsh|sql|swift|scala|lua|r|pl|ex|exs|hs|ml|vue|svelte|graphql|proto|log|diff|patch)$/i;

export const ACCEPTED_TYPES = `${IMAGE_TYPES.join(', ')}, application/pdf, text/* (plain text, Markdown, CSV, code) and JSON/YAML/XML`;

/** What the bytes of an upload turned out to be. */
export interface Inspected {
  kind: AttachmentKind;
  mediaType: string;
}

function startsWith(bytes: Uint8Array, ...signature: number[]): boolean {
  return signature.every((byte, index) => bytes[index] === byte);
}

const ascii = (bytes: Uint8Array, from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));

/** The image format the bytes are, by their magic bytes; null when none of the accepted ones. */
export function sniffImage(bytes: Uint8Array): (typeof IMAGE_TYPES)[number] | null {
  if (startsWith(bytes, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (startsWith(bytes, 0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a') return 'image/gif';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'image/webp';
  return null;
}

export const isPdf = (bytes: Uint8Array) => ascii(bytes, 0, 5) === '%PDF-';

/** The media type without parameters (`text/plain; charset=utf-8` → `text/plain`), lower case. */
export const bareType = (type: string) => (type.split(';')[0] ?? '').trim().toLowerCase();

function isTextType(type: string, name: string): boolean {
  if (type.startsWith('text/') || TEXT_TYPES.has(type) || type.endsWith('+json') || type.endsWith('+xml')) return true;
  return (type === '' || type === 'application/octet-stream') && TEXT_EXTENSIONS.test(name);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The text of a text-like file: UTF-8 with no NUL (what PostgreSQL text holds); null when it is not. */
export function decodeText(bytes: Uint8Array): string | null {
  try {
    const text = utf8.decode(bytes);
    return text.includes('\u0000') ? null : text;
  } catch {
    return null;
  }
}

/**
 * What an upload is, by its bytes, checked against the type its client declared: a PNG must be a
 * PNG, a PDF a PDF, a text file UTF-8 text. `field` names it in the error (`attachments[1] "a.png"`).
 */
export function inspect(bytes: Uint8Array, declared: string, name: string, field: string): Inspected {
  const type = bareType(declared);
  const image = sniffImage(bytes);
  const refuse = (message: string) =>
    new AppError('INVALID_INPUT', `${field}: ${message}`, { fieldErrors: { attachments: [`${field}: ${message}`] } });
  if ((IMAGE_TYPES as readonly string[]).includes(type) || (type === 'image/jpg' && image === 'image/jpeg')) {
    if (image === null) throw refuse(`declared ${type}, but its bytes are not a ${type.slice(6).toUpperCase()} image.`);
    if (image !== type && !(type === 'image/jpg' && image === 'image/jpeg')) {
      throw refuse(`declared ${type}, but its bytes are ${image}.`);
    }
    return { kind: 'image', mediaType: image };
  }
  if (type === 'application/pdf') {
    if (!isPdf(bytes)) throw refuse('declared application/pdf, but its bytes are not a PDF.');
    return { kind: 'text', mediaType: 'application/pdf' };
  }
  if (isTextType(type, name)) {
    if (image || isPdf(bytes)) throw refuse(`declared ${type || 'no type'}, but its bytes are ${image ?? 'a PDF'}.`);
    if (decodeText(bytes) === null) throw refuse(`declared ${type || 'text'}, but its bytes are not UTF-8 text.`);
    return { kind: 'text', mediaType: type === '' || type === 'application/octet-stream' ? 'text/plain' : type };
  }
  throw refuse(`the type "${type || '(none)'}" is not accepted. Accepted: ${ACCEPTED_TYPES}.`);
}

/**
 * Loads PDF.js ahead of the first PDF: evaluating it takes most of a second of CPU, which would
 * otherwise stall every other request when the first PDF arrives. The composition starts it in the
 * background once the server is up.
 */
export async function warmPdfReader(): Promise<void> {
  await getResolvedPDFJS();
}

/** The text of a PDF (pages separated by blank lines), through PDF.js (unpdf). Unreadable: INVALID_INPUT. */
export async function pdfText(bytes: Uint8Array, field: string): Promise<string> {
  try {
    // A copy: PDF.js takes the buffer over (detaches it), and the bytes are still to be stored.
    const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0, isEvalSupported: false });
    try {
      const { text } = await extractText(pdf, { mergePages: false });
      return text
        .map((page) => page.trim())
        .join('\n\n')
        .replaceAll('\u0000', '');
    } finally {
      await pdf.destroy();
    }
  } catch {
    const message = `${field}: this PDF could not be read (damaged or encrypted).`;
    throw new AppError('INVALID_INPUT', message, { fieldErrors: { attachments: [message] } });
  }
}
