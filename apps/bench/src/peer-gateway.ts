import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import { peakRssMiB, processCpuMs, rssMiB } from './proc';

/** The peer `pnpm bench:chat` compares Hearth with: the Portkey AI gateway, itself a Hono app on Node. */
export const PEER = { name: '@portkey-ai/gateway', version: '1.15.2' } as const;

export interface PeerGateway {
  url: string;
  /** From spawning the process to its first 200, in ms. */
  coldStartMs: number;
  /** An OpenAI client that streams through the gateway to `upstreamUrl` (an OpenAI-compatible /v1). */
  client(upstreamUrl: string): OpenAI;
  cpuMs(): number;
  rssMiB(): number;
  peakRssMiB(): number;
  stop(): Promise<void>;
}

const gatewayBin = createRequire(import.meta.url).resolve('@portkey-ai/gateway/build/start-server.js');

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Polls `url` until it answers 200, and returns the time since `started`. */
export async function timeToFirstOk(url: string, started: number, child: ChildProcess): Promise<number> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with ${child.exitCode}`);
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.ok) return performance.now() - started;
    } catch {
      // Not listening yet.
    }
    await sleep(5);
  }
}

/**
 * Starts the gateway as its own CLI does (`--headless`, production mode: no log UI), in a process of
 * its own, so its CPU and memory are read from /proc like the Hearth server's.
 */
export async function startPeerGateway(): Promise<PeerGateway> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [gatewayBin, `--port=${port}`, '--headless'], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const coldStartMs = await timeToFirstOk(`${url}/`, started, child);
  const pid = child.pid ?? 0;
  return {
    url,
    coldStartMs,
    client: (upstreamUrl) =>
      new OpenAI({
        baseURL: `${url}/v1`,
        apiKey: 'bench',
        maxRetries: 0,
        defaultHeaders: { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': upstreamUrl },
      }),
    cpuMs: () => processCpuMs(pid),
    rssMiB: () => rssMiB(pid),
    peakRssMiB: () => peakRssMiB(pid),
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}
