/**
 * Starts in-memory Azurite (blob for the run lock's lease, queue for events; table only because one Azurite
 * process cannot leave it out) on free loopback ports for one test file (or the bench, or the sandbox), and stops
 * it by PID. One process serves all three: it costs about what the queue service alone did. Telemetry is disabled
 * because it makes Azurite hang for minutes on exit offline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Azurite's fixed well-known development account (public, documented; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteOptions {
  /** How long to wait for the port to accept connections. Default 20 s. */
  startTimeoutMs?: number;
  /** Print Azurite's own output (debugging). */
  verbose?: boolean;
}

export interface AzuriteHandle {
  /** Blob and queue endpoints with the well-known development account key. */
  connectionString: string;
  queuePort: number;
  blobPort: number;
  stop(): Promise<void>;
}

interface Ports {
  blob: number;
  queue: number;
  table: number;
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function azuriteConnectionString(queuePort: number, blobPort?: number): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
    (blobPort !== undefined ? `BlobEndpoint=http://127.0.0.1:${blobPort}/${AZURITE_ACCOUNT};` : '') +
    `QueueEndpoint=http://127.0.0.1:${queuePort}/${AZURITE_ACCOUNT};`
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function spawnOnPorts(ports: Ports, options: AzuriteOptions): Promise<AzuriteHandle> {
  const bin = path.join(REPO_ROOT, 'node_modules', '.bin', 'azurite');
  if (!existsSync(bin)) throw new Error(`Azurite is not installed: ${bin} is missing (run npm ci)`);
  const args = ['--inMemoryPersistence', '--silent', '--disableTelemetry', '--skipApiVersionCheck'];
  for (const [service, port] of Object.entries(ports)) args.push(`--${service}Host`, '127.0.0.1', `--${service}Port`, String(port));
  const child = spawn(bin, args, {
    cwd: REPO_ROOT,
    stdio: options.verbose ? 'inherit' : ['ignore', 'ignore', 'pipe'],
    env: process.env,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 4000) stderr += chunk.toString();
  });

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const done = exited(child);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await done;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`Azurite exited with code ${child.exitCode} before listening on ${Object.values(ports).join(', ')}: ${stderr.trim()}`);
    }
    if ((await canConnect(ports.queue)) && (await canConnect(ports.blob))) {
      return { connectionString: azuriteConnectionString(ports.queue, ports.blob), queuePort: ports.queue, blobPort: ports.blob, stop };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`Azurite did not accept connections on 127.0.0.1:${ports.queue} and ${ports.blob} within the start timeout`);
}

async function freePorts(): Promise<Ports> {
  for (;;) {
    const ports = { blob: await freePort(), queue: await freePort(), table: await freePort() };
    if (new Set(Object.values(ports)).size === 3) return ports;
  }
}

/** Starts Azurite (blob and queue). Retries once on different ports if a chosen one was taken meanwhile. */
export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteHandle> {
  try {
    return await spawnOnPorts(await freePorts(), options);
  } catch (error) {
    if (error instanceof Error && /exited with code/.test(error.message)) {
      return spawnOnPorts(await freePorts(), options);
    }
    throw error;
  }
}
