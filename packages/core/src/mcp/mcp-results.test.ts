import { describe, expect, it } from 'vitest';
import { countTokens } from '../llm/token-count';
import { capText, exposedName, toOutcome } from './mcp-results';

describe('MCP tool names and results', () => {
  it('names a tool after its server, in the characters a function name may hold', () => {
    expect(exposedName('calc', 'add')).toBe('calc__add');
    expect(exposedName('files', 'read.file/v2')).toBe('files__read_file_v2');
    expect(exposedName('s', 'x'.repeat(61))).toBe(`s__${'x'.repeat(61)}`);
    expect(exposedName('s', 'x'.repeat(62))).toBeNull();
  });

  it('keeps a short result whole and cuts a long one, saying so', () => {
    expect(capText('short', 50)).toBe('short');
    const long = 'word '.repeat(10_000);
    const cut = capText(long, 50);
    expect(cut).toMatch(/\n\[cut: the result was 50000 characters, over the limit of 50 tokens\]$/);
    expect(countTokens(cut.slice(0, cut.indexOf('\n[cut')))).toBeLessThanOrEqual(50);
  });

  it('reads text parts, names the others, and tells a tool error from a result', () => {
    expect(
      toOutcome(
        {
          content: [
            { type: 'text', text: 'one' },
            { type: 'image', data: 'AAAA', mimeType: 'image/png' },
            { type: 'resource', resource: { uri: 'file:///a.txt', text: 'two' } },
          ],
        },
        100,
      ),
    ).toEqual({ ok: true, result: 'one\n[image (image/png) left out]\ntwo' });
    expect(toOutcome({ content: [], structuredContent: { sum: 5 } }, 100)).toEqual({ ok: true, result: '{"sum":5}' });
    expect(toOutcome({ content: [{ type: 'text', text: 'nope' }], isError: true }, 100)).toEqual({
      ok: false,
      result: { error: 'nope' },
    });
  });
});
