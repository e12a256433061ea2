// Leading whitespace rides with the word after it, the way BPE tokenizers emit " word".
// The lone-whitespace branch only ever matches trailing whitespace, which keeps the split lossless.
const TOKEN = /\s*\S+|\s+/g;

/** Splits text into stream tokens word by word; joining the tokens gives the text back exactly. */
export function tokenize(text: string): string[] {
  return text.match(TOKEN) ?? [];
}
