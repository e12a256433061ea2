import { describe, expect, it } from 'vitest';
import { firstWordsTitle } from '../llm/title-instructions';
import { cleanTitle } from './conversation-titles';

describe('cleanTitle', () => {
  it('keeps the first line, without quotes, a "Title:" label or a final full stop', () => {
    expect(cleanTitle('"Lisbon weekend trip."\nsecond line')).toBe('Lisbon weekend trip');
    expect(cleanTitle('\n  Title: «Weekend in Lisbon»  ')).toBe('Weekend in Lisbon');
  });

  it('is no title when nothing is left, and at most 80 characters otherwise', () => {
    expect(cleanTitle(' "" \n')).toBeNull();
    const long = cleanTitle('word '.repeat(40));
    expect([...(long ?? '')].length).toBe(80);
    expect(long?.endsWith('…')).toBe(true);
  });

  it('drops what the store cannot hold: U+0000 and lone surrogate halves', () => {
    expect(cleanTitle('Trip\u0000 to \uD800Lisbon')).toBe('Trip to Lisbon');
  });
});

describe('firstWordsTitle (the offline model)', () => {
  it('is the first six words, with an ellipsis when there were more', () => {
    expect(firstWordsTitle('  Plan a weekend trip to Lisbon in May ')).toBe('Plan a weekend trip to Lisbon…');
    expect(firstWordsTitle('Hello there')).toBe('Hello there');
  });
});
