import { describe, expect, it } from 'vitest';
import { ConfigError, configSchema, corsPolicy, loadConfig, redactUrls } from './config';

describe('loadConfig', () => {
  it('has a working default for every setting', () => {
    const config = loadConfig({}, '/srv/hearth');
    expect(config).toMatchObject({ PORT: 8787, NODE_ENV: 'production', ACCESS_TOKEN_TTL_SECONDS: 900 });
    expect(config.dataDir).toBe('/srv/hearth/.hearth');
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.CORS_ORIGINS).toBeUndefined();
    expect(corsPolicy(config)).toEqual({
      origins: ['http://localhost:3000', 'http://localhost:5173'],
      allowLoopback: false,
    });
  });

  it('allows loopback origins in development, and outside production when CORS_ORIGINS is unset', () => {
    const list = 'https://app.example.com';
    expect(corsPolicy(loadConfig({ NODE_ENV: 'development', CORS_ORIGINS: list }))).toEqual({
      origins: [list],
      allowLoopback: true,
    });
    expect(corsPolicy(loadConfig({ NODE_ENV: 'test' }))).toEqual({ origins: [], allowLoopback: true });
    expect(corsPolicy(loadConfig({ NODE_ENV: 'test', CORS_ORIGINS: list }))).toEqual({
      origins: [list],
      allowLoopback: false,
    });
    expect(corsPolicy(loadConfig({ NODE_ENV: 'production', CORS_ORIGINS: list }))).toEqual({
      origins: [list],
      allowLoopback: false,
    });
  });

  it('reads values and treats empty ones as unset', () => {
    const config = loadConfig({
      PORT: '9000',
      DATABASE_URL: '',
      HEARTH_DATA_DIR: '/var/lib/hearth',
      TRUST_PROXY: 'true',
    });
    expect(config.PORT).toBe(9000);
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.dataDir).toBe('/var/lib/hearth');
    expect(config.TRUST_PROXY).toEqual({ hops: 1 });
  });

  it('reads TRUST_PROXY as no proxy, a hop count, or the proxies’ addresses', () => {
    expect(loadConfig({}).TRUST_PROXY).toEqual({ hops: 0 });
    expect(loadConfig({ TRUST_PROXY: 'false' }).TRUST_PROXY).toEqual({ hops: 0 });
    expect(loadConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toEqual({ hops: 2 });
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, ::1' }).TRUST_PROXY).toEqual({ proxies: ['10.0.0.0/8', '::1'] });
  });

  it.each([
    [{ PORT: 'eighty' }, /^Invalid setting PORT: .+ \(got "eighty"\)$/],
    [{ PORT: '70000' }, /^Invalid setting PORT: /],
    [{ LOG_LEVEL: 'loud' }, /^Invalid setting LOG_LEVEL: /],
    [{ DATABASE_URL: 'mysql://db/hearth' }, /^Invalid setting DATABASE_URL: expected a postgres/],
    [{ TRUST_PROXY: 'perhaps' }, /^Invalid setting TRUST_PROXY: .+"perhaps" is none of them/],
    [{ TRUST_PROXY: '10.0.0.0/33' }, /^Invalid setting TRUST_PROXY: /],
    [{ BILLING: 'litellm' }, /^Invalid setting LITELLM_URL: required when BILLING=litellm$/],
    [{ AUTH_PROVIDER: 'supabase' }, /^Invalid setting SUPABASE_URL: required when AUTH_PROVIDER=supabase$/],
    [
      { AUTH_PROVIDER: 'supabase', SUPABASE_URL: 'https://abcd.supabase.co' },
      /^Invalid setting SUPABASE_ANON_KEY: required when AUTH_PROVIDER=supabase$/,
    ],
    [{ AUTH_PROVIDER: 'auth0' }, /^Invalid setting AUTH_PROVIDER: /],
    [
      { AUTH_PROVIDER: 'supabase', SUPABASE_URL: 'abcd.supabase.co' },
      /^Invalid setting SUPABASE_URL: expected an http/,
    ],
    [{ BILLING: 'litellm', LITELLM_URL: 'http://proxy:4000' }, /^Invalid setting LITELLM_MASTER_KEY: required/],
    [{ AGENT_BACKEND: 'letta' }, /^Invalid setting LETTA_BASE_URL: required when AGENT_BACKEND=letta$/],
    [
      {
        AGENT_BACKEND: 'letta',
        LETTA_BASE_URL: 'http://letta:8283',
        BILLING: 'litellm',
        LITELLM_URL: 'http://litellm:4000',
        LITELLM_MASTER_KEY: 'sk-master',
      },
      /^Invalid setting BILLING: litellm cannot meter Letta's model calls/,
    ],
    [{ AGENT_BACKEND: 'letta', LETTA_BASE_URL: 'letta:8283' }, /^Invalid setting LETTA_BASE_URL: expected an http/],
  ])('stops at a bad value with one line naming the setting: %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
    try {
      loadConfig(env);
    } catch (error) {
      expect((error as Error).message).not.toContain('\n');
    }
  });

  it('never repeats a secret in its message', () => {
    const secret = 'short-secret';
    expect(() => loadConfig({ JWT_SECRET: secret })).toThrow(
      /^Invalid setting JWT_SECRET: must be at least 32 characters$/,
    );
    expect(() => loadConfig({ DATABASE_URL: 'mysql://user:hunter2@db' })).not.toThrow(/hunter2/);
    expect(() => loadConfig({ SUPABASE_JWT_SECRET: secret })).toThrow(
      /^Invalid setting SUPABASE_JWT_SECRET: must be at least 32 characters$/,
    );
  });

  it.each([
    { LLM_BASE_URL: 'ftp://user:hunter2@llm.example' },
    { LITELLM_URL: 'ftp://proxy.example/?api_key=hunter2' },
    { LETTA_BASE_URL: 'letta://admin:hun?ter2@letta:8283' },
    { AUTH_PROVIDER: 'supabase', SUPABASE_ANON_KEY: 'anon', SUPABASE_URL: 'ws://x.supabase.co/#access_token=hunter2' },
  ])('shows a bad URL without its credentials, query or fragment: %o', (env) => {
    expect(() => loadConfig(env)).toThrow(/^Invalid setting \w+_URL: .+ \(got "\w+:\/\/.*\[redacted\].*"\)$/);
    expect(() => loadConfig(env)).not.toThrow(/hunter2|hun\?ter/);
  });

  it('redacts every URL in a list', () => {
    expect(redactUrls('https://a.example,https://u:hunter2@b.example')).toBe(
      'https://a.example,https://[redacted]@b.example',
    );
  });

  it('reads MCP_SERVERS, and tells what is wrong with it by place, never by value', () => {
    const servers = [
      { name: 'files', transport: 'stdio', command: 'npx', args: ['-y', 'server'], env: { TOKEN: 'hunter2' } },
      {
        name: 'search',
        transport: 'http',
        url: 'https://mcp.example/mcp',
        headers: { authorization: 'Bearer hunter2' },
      },
    ];
    expect(loadConfig({ MCP_SERVERS: JSON.stringify(servers) }).MCP_SERVERS).toEqual(servers);
    expect(loadConfig({}).MCP_SERVERS).toBeUndefined();
    const bad = (value: unknown) => () => loadConfig({ MCP_SERVERS: JSON.stringify(value) });
    expect(() => loadConfig({ MCP_SERVERS: '[{"name":' })).toThrow(
      /^Invalid setting MCP_SERVERS: expected a JSON list of servers$/,
    );
    expect(bad([{ ...servers[1], name: 'has__two' }])).toThrow(/MCP_SERVERS: 0\.name: expected 1-32 letters/);
    expect(bad([servers[0], { ...servers[1], name: 'files' }])).toThrow(/"files" is used twice/);
    expect(bad([{ ...servers[1], url: 'ftp://hunter2@mcp.example' }])).toThrow(/MCP_SERVERS: 0\.url/);
    expect(bad([{ ...servers[0], env: { TOKEN: 42 } }])).toThrow(/MCP_SERVERS: 0\.env\.TOKEN/);
    expect(bad([{ ...servers[0], extra: 'hunter2' }])).toThrow(/MCP_SERVERS: 0/);
    for (const value of [[{ ...servers[1], url: 'ftp://hunter2@mcp.example' }], [{ ...servers[0], env: { A: 1 } }]]) {
      expect(bad(value)).not.toThrow(/hunter2|got/);
    }
  });

  it('lists every setting in .env.example', async () => {
    const { readFileSync } = await import('node:fs');
    const example = readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8');
    for (const name of Object.keys(configSchema.shape)) expect(example).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
  });
});
