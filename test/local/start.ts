/**
 * `npm start`: run the function app locally under Azure Functions Core Tools.
 *
 *   1. find `func` (Core Tools is never a dependency: installing it needs the network);
 *   2. read local.settings.json;
 *   3. build (`npm run build`);
 *   4. when AzureWebJobsStorage points at the local emulator, start Azurite (blob for timer leases, queue, table)
 *      unless one is already listening, and create the events queue and its poison queue;
 *   5. run `func start`, passing through any extra arguments; stop Azurite when func exits or on Ctrl-C.
 *
 * Usage: npm start [-- <func start args>]
 * Options for tests and tooling: --root <dir> (project directory, default the repo), --skip-build.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, readFileSync, realpathSync } from 'node:fs';
import { connect } from 'node:net';
import { constants as osConstants } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QueueServiceClient } from '@azure/storage-queue';

export const FUNC_MISSING_MESSAGE =
  'Azure Functions Core Tools (`func`) was not found on PATH or in node_modules/.bin: install it with `npm i -g azure-functions-core-tools@4` (or your OS package, e.g. `brew install azure-functions-core-tools@4`), then run `npm start` again.';

const DEFAULT_QUEUE = 'resource-events';
const AZURITE_ACCOUNT = 'devstoreaccount1';

interface Options {
  root: string;
  skipBuild: boolean;
  funcArgs: string[];
}

export interface EmulatorEndpoints {
  host: string;
  blobPort: number;
  queuePort: number;
  tablePort: number;
}

function parseArgs(argv: string[], defaultRoot: string): Options {
  const options: Options = { root: defaultRoot, skipBuild: false, funcArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--root') {
      const value = argv[++i];
      if (!value) throw new Error('--root needs a directory');
      options.root = resolve(value);
    } else if (arg === '--skip-build') {
      options.skipBuild = true;
    } else if (arg === '--') {
      options.funcArgs.push(...argv.slice(i + 1));
      break;
    } else {
      options.funcArgs.push(arg);
    }
  }
  return options;
}

/** `func` from PATH first (the user's chosen install), then the project's node_modules/.bin. */
export function findFunc(root: string, pathEnv = process.env.PATH ?? ''): string | undefined {
  const names = process.platform === 'win32' ? ['func.cmd', 'func.exe', 'func'] : ['func'];
  const dirs = [...pathEnv.split(delimiter).filter(Boolean), join(root, 'node_modules', '.bin')];
  for (const dir of dirs) {
    for (const name of names) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, fsConstants.X_OK);
        return candidate;
      } catch {
        // not here; keep looking
      }
    }
  }
  return undefined;
}

/**
 * The emulator endpoints a connection string points at, or undefined for a real storage account.
 * `UseDevelopmentStorage=true` means Azurite's default ports; an explicit devstoreaccount1 string may use others.
 */
export function emulatorEndpoints(connectionString: string): EmulatorEndpoints | undefined {
  const trimmed = connectionString.trim();
  if (/^UseDevelopmentStorage=true/i.test(trimmed)) return { host: '127.0.0.1', blobPort: 10000, queuePort: 10001, tablePort: 10002 };
  const parts = new Map(
    trimmed
      .split(';')
      .filter(Boolean)
      .map((kv) => {
        const at = kv.indexOf('=');
        return [kv.slice(0, at).trim().toLowerCase(), kv.slice(at + 1).trim()] as const;
      }),
  );
  if (parts.get('accountname') !== AZURITE_ACCOUNT) return undefined;
  const port = (key: string, fallback: number): { host?: string; port: number } => {
    const raw = parts.get(key);
    if (!raw) return { port: fallback };
    const url = new URL(raw);
    return { host: url.hostname, port: Number(url.port || fallback) };
  };
  const queue = port('queueendpoint', 10001);
  const host = queue.host ?? '127.0.0.1';
  if (!['127.0.0.1', 'localhost'].includes(host)) return undefined;
  return { host, blobPort: port('blobendpoint', 10000).port, queuePort: queue.port, tablePort: port('tableendpoint', 10002).port };
}

function isListening(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

async function waitForPorts(host: string, ports: number[], child: ChildProcess, timeoutMs: number, cancelled: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cancelled()) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`Azurite exited early (code ${child.exitCode ?? child.signalCode})`);
    const up = await Promise.all(ports.map((p) => isListening(host, p)));
    if (up.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`Azurite did not open ports ${ports.join(', ')} within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startAzurite(root: string, endpoints: EmulatorEndpoints): ChildProcess {
  const launcher = [join(root, 'node_modules', '.bin', 'azurite'), join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', '.bin', 'azurite')].find(existsSync);
  if (!launcher) throw new Error('azurite is not installed in node_modules: run npm ci');
  // Run the launcher's JS with this Node: its shebang would pick whatever `node` is first on PATH.
  return spawn(
    process.execPath,
    [
      realpathSync(launcher),
      '--inMemoryPersistence',
      '--silent',
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--blobHost', endpoints.host, '--blobPort', String(endpoints.blobPort),
      '--queueHost', endpoints.host, '--queuePort', String(endpoints.queuePort),
      '--tableHost', endpoints.host, '--tablePort', String(endpoints.tablePort),
    ],
    { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] },
  );
}

async function stopChild(child: ChildProcess | undefined, graceMs = 10_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A start-up problem the user fixes by hand: printed as one message, without a stack. */
class StartError extends Error {}

function readLocalSettings(root: string): Record<string, string> {
  const file = join(root, 'local.settings.json');
  if (!existsSync(file)) {
    throw new StartError(`local.settings.json not found in ${root}: run \`cp local.settings.sample.json local.settings.json\`, fill in PORT_CLIENT_ID and PORT_CLIENT_SECRET, then run \`npm start\` again.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new StartError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  const values = (parsed as { Values?: unknown }).Values;
  if (!values || typeof values !== 'object') throw new StartError(`${file} has no "Values" object`);
  return values as Record<string, string>;
}


export async function main(argv: string[]): Promise<number> {
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const options = parseArgs(argv, repoRoot);

  const funcPath = findFunc(options.root);
  if (!funcPath) {
    console.error(FUNC_MISSING_MESSAGE);
    return 1;
  }

  let values: Record<string, string>;
  try {
    values = readLocalSettings(options.root);
  } catch (err) {
    if (err instanceof StartError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }

  if (!options.skipBuild) {
    const build = spawnSync('npm', ['run', 'build'], { cwd: options.root, stdio: 'inherit', shell: process.platform === 'win32' });
    if (build.status !== 0) {
      console.error(`npm run build failed (exit ${build.status ?? build.signal}); not starting func.`);
      return build.status || 1;
    }
  }

  const connectionString = values.AzureWebJobsStorage ?? '';
  const endpoints = emulatorEndpoints(connectionString);
  let azurite: ChildProcess | undefined;
  let func: ChildProcess | undefined;
  let stoppedBy: NodeJS.Signals | undefined;
  // Ctrl-C goes to func once it runs (it shuts the host down itself); before that it cancels the start-up.
  const onSignal = (signal: NodeJS.Signals) => {
    stoppedBy ??= signal;
    if (func && func.exitCode === null) func.kill(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const signalled = () => stoppedBy !== undefined;
  const signalExitCode = (signal: NodeJS.Signals) => 128 + (osConstants.signals[signal] ?? 0);

  try {
    if (endpoints) {
      if (await isListening(endpoints.host, endpoints.queuePort)) {
        console.log(`Using the storage emulator already listening on ${endpoints.host}:${endpoints.queuePort}.`);
      } else {
        console.log(`Starting Azurite (blob ${endpoints.blobPort}, queue ${endpoints.queuePort}, table ${endpoints.tablePort}, in memory)…`);
        azurite = startAzurite(options.root, endpoints);
        await waitForPorts(endpoints.host, [endpoints.blobPort, endpoints.queuePort, endpoints.tablePort], azurite, 30_000, signalled);
      }
      if (signalled()) return signalExitCode(stoppedBy!);
      const queueName = values.RESOURCE_EVENTS_QUEUE?.trim() || DEFAULT_QUEUE;
      const service = QueueServiceClient.fromConnectionString(connectionString);
      for (const name of [queueName, `${queueName}-poison`]) await service.getQueueClient(name).createIfNotExists();
      console.log(`Queues ready: ${queueName}, ${queueName}-poison.`);
    } else if (connectionString) {
      console.log('AzureWebJobsStorage is not the local emulator: not starting Azurite or creating queues.');
    }
    if (signalled()) return signalExitCode(stoppedBy!);

    const child = spawn(funcPath, ['start', ...options.funcArgs], {
      cwd: options.root,
      stdio: 'inherit',
      // Node refuses to spawn .cmd files without a shell on Windows.
      shell: process.platform === 'win32',
    });
    func = child;
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) => {
      child.once('exit', (c, s) => done([c, s]));
      child.once('error', (err) => {
        console.error(`Could not run ${funcPath}: ${err.message}`);
        done([1, null]);
      });
    });
    return code ?? (signal ? signalExitCode(signal) : 1);
  } catch (err) {
    if (signalled()) return signalExitCode(stoppedBy!);
    console.error(`npm start failed: ${(err as Error).message}`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopChild(azurite);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
