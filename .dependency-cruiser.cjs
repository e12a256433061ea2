// The layering of packages/core (and the SDK's distance from the server), checked by `pnpm lint`
// (each package's lint runs `depcruise packages/<pkg>/src` with this file). ARCHITECTURE.md, "Ports
// and adapters", says what the layers are; these rules keep an import from pointing the wrong way.
const path = require('node:path');

const CORE = '^packages/core/src/';
// Test files and the test helpers wire real adapters together on purpose, like the composition root.
const TESTS = ['\\.test\\.ts$', `${CORE}testing/`];
// The adapters picked by apps/server/src/compose.ts (through core's index.ts): each implements a port
// for one backend. Nothing in core but the adapter's own folder may name one, or swapping the backend
// would mean editing a service.
const ADAPTERS = [
  `${CORE}agent/letta/`,
  `${CORE}attachments/database/`,
  `${CORE}attachments/s3/`,
  `${CORE}auth/builtin/`,
  `${CORE}auth/supabase/`,
  `${CORE}billing/litellm/`,
  `${CORE}memory/`,
  `${CORE}redis/`,
  `${CORE}mcp/`,
  `${CORE}llm/(offline-model|openai-compatible-client|node-http-fetch)\\.ts$`,
];

module.exports = {
  forbidden: [
    {
      name: 'domain-is-innermost',
      comment:
        'domain/ is the types and errors everything else shares; importing ports, the store or an adapter ' +
        'from it would make every layer depend on that one.',
      severity: 'error',
      from: { path: `${CORE}domain/` },
      to: { pathNot: `${CORE}domain/`, dependencyTypesNot: ['core'] },
    },
    {
      name: 'ports-import-only-domain',
      comment:
        'A port is the contract between a service and its adapters (and the API); if it imported a service, ' +
        'the store or an adapter, the API and the SDK .d.ts would carry them along.',
      severity: 'error',
      from: { path: `${CORE}ports/` },
      to: { pathNot: `${CORE}(ports|domain)/`, dependencyTypesNot: ['core'] },
    },
    {
      name: 'adapters-only-from-the-composition',
      comment:
        'Services take adapters through ports, handed in by compose.ts; only index.ts (which exports them ' +
        'for compose.ts), tests and the adapter itself may import one.',
      severity: 'error',
      // The capture is the importer's folder (agent/letta, or chat), so an adapter may import its own files.
      from: { path: `${CORE}((?:agent|attachments|auth|billing)/[^/]+|[^/]+)/`, pathNot: TESTS },
      to: { path: ADAPTERS, pathNot: `${CORE}$1/[^/]+$` },
    },
    {
      name: 'edge-folders-import-only-inward',
      comment:
        'The store (Drizzle, PGlite, PostgreSQL), the model clients, Redis and the in-process hub and limiters sit at ' +
        'the edge: they may use ports and domain, never a service above them.',
      severity: 'error',
      from: { path: `${CORE}(store|llm|redis|memory)/`, pathNot: TESTS },
      to: { path: CORE, pathNot: `${CORE}($1|ports|domain)/` },
    },
    {
      name: 'services-reach-the-store-through-ports',
      comment:
        'Services and the built-in runtime read and write through repository ports (ports/*-repository.ts), ' +
        'whose Drizzle adapters live in store/repositories/, so a service can be unit-tested on in-memory ' +
        'adapters (testing/) and its queries live in one place. Exceptions, each with its reason: ' +
        'admin/admin-service.ts is the operators’ read model, aggregate SQL across users, budgets and usage ' +
        'that belongs to no one service’s repository; users/user-service.ts is StoreUserService, itself the ' +
        'store-backed adapter of the UserService port; users/data-rights-service.ts exports and erases one ' +
        'account across every table in one transaction, which no one repository owns.',
      severity: 'error',
      from: {
        path: [`${CORE}.+-service\\.ts$`, `${CORE}(chat|agent|attachments)/[^/]+\\.ts$`],
        pathNot: [
          ...TESTS,
          `${CORE}admin/admin-service\\.ts$`,
          `${CORE}users/user-service\\.ts$`,
          `${CORE}users/data-rights-service\\.ts$`,
        ],
      },
      to: { path: `${CORE}store/` },
    },
    {
      name: 'no-circular-in-core',
      comment: 'A cycle has no inner layer: neither side can be read, tested or replaced without the other.',
      severity: 'error',
      from: { path: CORE },
      to: { circular: true },
    },
    {
      name: 'api-sees-core-through-its-index',
      comment: 'The API takes what @hearth/core exports, not its internals, so core can move files freely.',
      severity: 'error',
      from: { path: '^packages/api/src/' },
      to: { path: CORE, pathNot: `${CORE}index\\.ts$` },
    },
    {
      name: 'sdk-ships-no-server-code',
      comment:
        'The SDK runs in browsers and other apps; it takes only types from the API (erased at build), ' +
        'never code from packages/api or packages/core.',
      severity: 'error',
      from: { path: '^packages/sdk/src/' },
      // The bare name too: the SDK does not depend on @hearth/core, so an import of it does not resolve.
      to: { path: ['^packages/(api|core)/', '^@hearth/(api|core)(/|$)'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    // Paths are from the repository root whichever package runs the check, so the rules can name them.
    baseDir: __dirname,
    // Type-only imports count: a port importing a service's type is still a port depending on a service.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: path.join(__dirname, 'tsconfig.base.json') },
    // Other workspace packages resolve to their source, as TypeScript and Vitest see them.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['@hearth/source', 'import', 'default'],
      extensions: ['.ts', '.tsx', '.js', '.mjs'],
    },
    doNotFollow: { path: ['node_modules'] },
  },
};
