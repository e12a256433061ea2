// The MCP test server over stdio, as a script: `node --import tsx mcp-stdio-server.ts` (see
// mcpStdioServerCommand). stdout is the protocol's, so nothing else may print there.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createMcpTestServer } from './mcp-test-server';

const server = createMcpTestServer({ exitOnCrash: true });
await server.connect(new StdioServerTransport());
