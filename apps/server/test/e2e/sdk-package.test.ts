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

console.log(JSON.stringify({ same: registered.user.id === me.id, hasSession: session !== null, duplicate, answer }));
`;

describe('the packed SDK, installed outside the workspace', () => {
  let server: TestServer;
  let consumer: string;

  beforeAll(async () => {
    if (!existsSync(join(sdkDir, 'dist/index.d.ts'))) {
      throw new Error('packages/sdk is not built: run `pnpm test` (which builds it) or `pnpm build` first');
    }
    server = await startTestServer({ store: { kind: 'pglite-memory' } });
    consumer = mkdtempSync(join(tmpdir(), 'hearth-sdk-consumer-'));
    pnpm(['pack', '--pack-destination', consumer], sdkDir);
    const tarball = readdirSync(consumer).find((name) => name.endsWith('.tgz'));
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

  it('type-checks strictly in a consumer (skipLibCheck off) and runs against the server', async () => {
    execFileSync(process.execPath, [tsc, '-p', consumer], { cwd: consumer, encoding: 'utf8' });
    // Asynchronously: the server under test shares this process's event loop.
    const { stdout } = await run(process.execPath, [join(consumer, 'out/consumer.js'), server.url], { cwd: consumer });
    expect(JSON.parse(stdout)).toEqual({
      same: true,
      hasSession: true,
      duplicate: 'EMAIL_TAKEN',
      answer: "Nice to meet you, Ada! I'll remember your name.",
    });
  });

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
