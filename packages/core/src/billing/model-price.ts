/** What a model costs and how much it takes; its own file so the generated price table needs no import cycle. */
export interface ModelPrice {
  inputUsdPerToken: number;
  outputUsdPerToken: number;
  contextWindow: number;
  maxOutputTokens: number;
  /** The price map did not say: `maxOutputTokens` is a guess, and chat.models says null. */
  maxOutputTokensUnknown?: true;
  /** The price map's `supports_vision`: the model reads images (image attachments go only to such a model). */
  supportsVision?: true;
}
