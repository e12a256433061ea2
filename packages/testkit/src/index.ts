export { startLlmTestServer } from './llm-test-server';
export { tokenize } from './tokenize';
export type {
  LlmReplyScript,
  LlmRequestRecord,
  LlmResponder,
  LlmTestServer,
  LlmTestServerOptions,
  LlmToolCallScript,
} from './types';
