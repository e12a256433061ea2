export {
  type FakeLetta,
  type FakeLettaAgent,
  type FakeLettaFault,
  type FakeLettaOptions,
  type FakeLettaSendRecord,
  startFakeLetta,
} from './letta-fake';
export { type FakeLiteLlm, type FakeLiteLlmCall, type FakeLiteLlmUser, startFakeLiteLlm } from './litellm-fake';
export { startLlmTestServer } from './llm-test-server';
export {
  createMcpTestServer,
  type McpHttpTestServer,
  type McpTestCall,
  type McpTestServerOptions,
  mcpStdioServerCommand,
  startMcpTestServer,
} from './mcp-test-server';
export {
  CONTRACT_FILES,
  ContractLog,
  type ContractName,
  type ContractRequest,
  type ContractResponse,
  ContractViolation,
  OpenApiContract,
} from './openapi-contract';
export { type FakeS3, type FakeS3Options, type FakeS3Request, startFakeS3 } from './s3-fake';
export {
  type FakeSupabaseAuth,
  type FakeSupabaseAuthCall,
  type FakeSupabaseAuthOptions,
  type FakeSupabaseUser,
  startFakeSupabaseAuth,
} from './supabase-auth-fake';
export { tokenize } from './tokenize';
export type {
  LlmReplyScript,
  LlmRequestRecord,
  LlmResponder,
  LlmTestServer,
  LlmTestServerOptions,
  LlmToolCallScript,
} from './types';
