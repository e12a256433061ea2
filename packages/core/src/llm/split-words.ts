/** Splits text into stream tokens word by word, whitespace kept in front: joining them gives the text back. */
export function splitWords(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? (text ? [text] : []);
}
