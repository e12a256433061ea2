import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server';

const root = resolve(import.meta.dirname, '../../../..');
const sdkDir = join(root, 'packages/sdk');
const sdkManifest = JSON.parse(readFileSync(join(sdkDir, 'package.json'), 'utf8'));
const run = promisify(execFile);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function pnpm(args: string[], cwd: string): string {
  const packageManager: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager;
  const execPath = process.env.npm_execpath;
  const [command, prefix] =
    execPath && /pnpm/.test(execPath) ? [process.execPath, [execPath]] : ['npx', ['--yes', packageManager]];
  return execFileSync(command, [...prefix, ...args], { cwd, encoding: 'utf8' });
}

const CONSUMER = `
import { createHearthClient, isHearthError, type AppCode, type Session, type User } from '@hearth/sdk';

declare const process: { argv: string[] };
const url = process.argv[2] ?? '';
const email = \`consumer-\${Date.now()}@example.com\`;

const hearth = createHearthClient({ url });
const registered = await hearth.auth.register.mutate({ email, password: 'a consumer passphrase' });
const me: User = await hearth.auth.me.query();
const session: Session | null = hearth.session;

// The types are the contract, not \`any\`:
// @ts-expect-error login needs a password
void (() => hearth.auth.login.mutate({ email }));
// @ts-expect-error there is no such procedure
void (() => hearth.auth.nonexistent.query());
const code: AppCode = 'EMAIL_TAKEN';

let duplicate = 'no error';
try {
  await hearth.auth.register.mutate({ email, password: 'a consumer passphrase' });
} catch (error) {
  if (isHearthError(error, code)) duplicate = error.data.appCode;
}
// Streaming goes over SSE with the Authorization header, through the SDK's own EventSource.
const { runId } = await hearth.chat.send.mutate({ text: 'My name is Ada' });
let answer = '';
for await (const { data } of hearth.streamRun(runId)) if (data.type === 'text.delta') answer += data.text;

// A session saved as JSON comes back with expiresAt as a string, and still signs the client in.
const restored = createHearthClient({ url, session: JSON.parse(JSON.stringify(session)) });
const restoredMe: User = await restored.auth.me.query();

console.log(
  JSON.stringify({
    same: registered.user.id === me.id,
    hasSession: session !== null,
    duplicate,
    answer,
    restored: restoredMe.id === me.id,
  }),
);
`;

// What an app beside @trpc/tanstack-react-query writes: the SDK's tRPC client handed to TRPCProvider.
// With two copies of @trpc/client installed, `trpcClient={hearth.trpc}` fails to type-check (TS2322).
const REACT_CONSUMER = `
import { type AppRouter, createHearthClient } from '@hearth/sdk';
import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import type { ReactNode } from 'react';

const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();
const hearth = createHearthClient({ url: 'http://localhost:8787' });
const queryClient = new QueryClient();

export function Providers({ children }: { children: ReactNode }) {
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={hearth.trpc} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}

export function Me() {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions());
  const email: string | undefined = me.data?.email;
  // @ts-expect-error the procedure's input is typed
  void trpc.chat.history.queryOptions({ limit: 'ten' });
  return <p>{email}</p>;
}
`;

/** Names of the server's own types: none may reach the SDK's published declarations. */
const SERVER_TYPES =
  /\b(ApiDeps|ApiContext|AuthedContext|ApiLogger|AuthProvider|UserService|ChatOperations|AgentOperations|AccountOperations|AgentRuntime|LlmClient|Ledger|RateLimiter|StreamSlots|ClientInfo)\b/;

function packSdk(into: string): string {
  pnpm(['pack', '--pack-destination', into], sdkDir);
  const tarball = readdirSync(into).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error('pnpm pack wrote no tarball');
  return tarball;
}

describe('the packed SDK, installed outside the workspace', () => {
  let server: TestServer;
  let consumer: string;
  let tarball: string;

  beforeAll(async () => {
    if (!existsSync(join(sdkDir, 'dist/index.d.ts'))) {
      throw new Error('packages/sdk is not built: run `pnpm test` (which builds it) or `pnpm build` first');
    }
    server = await startTestServer({ store: { kind: 'pglite-memory' } });
    consumer = mkdtempSync(join(tmpdir(), 'hearth-sdk-consumer-'));
    tarball = packSdk(consumer);
    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify({
        name: 'consumer',
        private: true,
        type: 'module',
        dependencies: { '@hearth/sdk': `file:./${tarball}` },
      }),
    );
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: consumer });
    writeFileSync(join(consumer, 'consumer.ts'), CONSUMER);
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2022', 'DOM', 'esnext.disposable'],
          types: [],
          skipLibCheck: false,
          outDir: 'out',
        },
        files: ['consumer.ts'],
      }),
    );
  }, 240_000);

  afterAll(async () => {
    await server?.close();
    if (consumer) rmSync(consumer, { recursive: true, force: true });
  });

  it('installs with nothing but its own dependencies', () => {
    const installed = readdirSync(join(consumer, 'node_modules/@hearth'));
    expect(installed).toEqual(['sdk']);
    const manifest = JSON.parse(readFileSync(join(consumer, 'node_modules/@hearth/sdk/package.json'), 'utf8'));
    expect(Object.keys(manifest.dependencies).sort()).toEqual(Object.keys(sdkManifest.dependencies).sort());
    expect(JSON.stringify(manifest.dependencies)).not.toMatch(/workspace:|catalog:/);
  });

  it('packs its build, README and LICENSE, and a manifest that points only at them', () => {
    const files = execFileSync('tar', ['-tzf', join(consumer, tarball)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .sort();
    expect(files).toEqual(
      [
        'LICENSE',
        'README.md',
        'dist/index.cjs',
        'dist/index.cjs.map',
        'dist/index.d.cts',
        'dist/index.d.ts',
        'dist/index.js',
        'dist/index.js.map',
        'package.json',
      ].map((file) => `package/${file}`),
    );
    const manifest = JSON.parse(readFileSync(join(consumer, 'node_modules/@hearth/sdk/package.json'), 'utf8'));
    // The workspace's source condition names ./src, which is not in the tarball.
    expect(JSON.stringify(manifest.exports)).not.toMatch(/@hearth\/source|\.\/src/);
    // Private workspace packages (@hearth/api) are in no registry.
    expect(manifest.devDependencies).toBeUndefined();
    expect(manifest.license).toBe('MIT');
    expect(readFileSync(join(consumer, 'node_modules/@hearth/sdk/LICENSE'), 'utf8')).toMatch(/^MIT License/);
  });

  it('declares tRPC as a range, so it can share one copy with other tRPC packages', () => {
    const manifest = JSON.parse(readFileSync(join(consumer, 'node_modules/@hearth/sdk/package.json'), 'utf8'));
    expect(manifest.dependencies['@trpc/client']).toMatch(/^\^11\./);
    expect(manifest.dependencies['@trpc/server']).toMatch(/^\^11\./);
  });

  it('ships no server code in its JavaScript', () => {
    for (const file of ['dist/index.js', 'dist/index.cjs']) {
      const code = readFileSync(join(consumer, 'node_modules/@hearth/sdk', file), 'utf8');
      expect(code).not.toMatch(/@hearth\/(core|api|server)|drizzle|pglite|argon2|from ['"]hono|pino/);
    }
  });

  it('publishes types that import only its own dependencies', () => {
    const types = readFileSync(join(consumer, 'node_modules/@hearth/sdk/dist/index.d.ts'), 'utf8');
    const imported = [...types.matchAll(/from ['"]([^'"]+)['"]/g)].map((m) => m[1] ?? '');
    const allowed = Object.keys(sdkManifest.dependencies);
    for (const specifier of imported) {
      expect(
        allowed.some((dep) => specifier === dep || specifier.startsWith(`${dep}/`)),
        specifier,
      ).toBe(true);
    }
  });

  it("names none of the server's own types in its declarations", () => {
    for (const file of ['dist/index.d.ts', 'dist/index.d.cts']) {
      const types = readFileSync(join(consumer, 'node_modules/@hearth/sdk', file), 'utf8');
      expect(types.match(SERVER_TYPES)?.[0] ?? null, file).toBeNull();
    }
  });

  it('type-checks strictly in a consumer (skipLibCheck off) and runs against the server', async () => {
    execFileSync(process.execPath, [tsc, '-p', consumer], { cwd: consumer, encoding: 'utf8' });
    // Asynchronously: the server under test shares this process's event loop.
    const { stdout } = await run(process.execPath, [join(consumer, 'out/consumer.js'), server.url], { cwd: consumer });
    expect(JSON.parse(stdout)).toEqual({
      same: true,
      hasSession: true,
      duplicate: 'EMAIL_TAKEN',
      answer: "Nice to meet you, Ada! I'll remember your name.",
      restored: true,
    });
  }, 120_000);

  it('loads through require() as well', () => {
    const output = execFileSync(
      process.execPath,
      [
        '-e',
        "const sdk = require('@hearth/sdk'); console.log(typeof sdk.createHearthClient, typeof sdk.isHearthError)",
      ],
      { cwd: consumer, encoding: 'utf8' },
    );
    expect(output.trim()).toBe('function function');
  });
});

describe('the packed SDK beside @trpc/tanstack-react-query (current release)', () => {
  let consumer: string;

  beforeAll(() => {
    if (!existsSync(join(sdkDir, 'dist/index.d.ts'))) {
      throw new Error('packages/sdk is not built: run `pnpm test` (which builds it) or `pnpm build` first');
    }
    consumer = mkdtempSync(join(tmpdir(), 'hearth-sdk-react-consumer-'));
    const tarball = packSdk(consumer);
    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify({
        name: 'react-consumer',
        private: true,
        type: 'module',
        dependencies: {
          '@hearth/sdk': `file:./${tarball}`,
          '@trpc/tanstack-react-query': 'latest',
          '@tanstack/react-query': '^5',
          react: '^19',
          '@types/react': '^19',
        },
      }),
    );
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: consumer });
    writeFileSync(join(consumer, 'app.tsx'), REACT_CONSUMER);
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2022', 'DOM'],
          jsx: 'react-jsx',
          types: [],
          // Some tRPC releases' own declarations import node's `http` and `ws`: not this test's subject.
          skipLibCheck: true,
          noEmit: true,
        },
        files: ['app.tsx'],
      }),
    );
  }, 240_000);

  afterAll(() => {
    if (consumer) rmSync(consumer, { recursive: true, force: true });
  });

  it('installs one copy of @trpc/client and of @trpc/server', () => {
    for (const name of ['@trpc/client', '@trpc/server']) {
      const tree = JSON.parse(
        execFileSync('npm', ['ls', name, '--all', '--json'], { cwd: consumer, encoding: 'utf8' }),
      ) as NpmTree;
      expect(new Set(versionsOf(name, tree)).size, name).toBe(1);
    }
  });

  it('type-checks hearth.trpc as the trpcClient of TRPCProvider', () => {
    execFileSync(process.execPath, [tsc, '-p', consumer], { cwd: consumer, encoding: 'utf8' });
  }, 120_000);
});

interface NpmTree {
  version?: string;
  dependencies?: Record<string, NpmTree>;
}

/** Every version of `name` in an `npm ls --json` tree (a deduped entry repeats its version). */
function versionsOf(name: string, tree: NpmTree): string[] {
  return Object.entries(tree.dependencies ?? {}).flatMap(([dep, node]) => [
    ...(dep === name && node.version ? [node.version] : []),
    ...versionsOf(name, node),
  ]);
}
