#!/usr/bin/env node
/**
 * The `azure-port-sync` command line: run reconciliation outside Functions, show the sync state, check a
 * configuration. Settings come from environment variables only, with the Function App's names (SETTINGS_SOURCE);
 * AzureWebJobsStorage, when set, gives `reconcile` the app's run lock. Azure sign-in follows AZURE_CREDENTIAL
 * (DefaultAzureCredential by default, so `az login` is enough locally; `emulator` for the in-repo emulator).
 *
 * runCli never touches process globals, so tests run it in-process against the emulators.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { queueConnectionFrom } from '../azure/storageQueue.js';
import { checkCommand } from './checkCommand.js';
import { SETTINGS_SOURCE } from './context.js';
import { CliExit, EXIT, type CliIo } from './io.js';
import { registerMappingCommand } from './mappingCommand.js';
import { reconcileCommand } from './reconcileCommand.js';
import { statusCommand } from './statusCommand.js';

export type { CliIo, CliDeps } from './io.js';

export function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('azure-port-sync')
    .description('Keeps the Port software catalog an exact mirror of an Azure estate.')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError()
    .addHelpText(
      'after',
      `\nSettings come from ${SETTINGS_SOURCE}.\n` +
        'Exit codes: 0 ok, 1 failed, 2 bad usage or settings, 3 another run of the same scope holds the run lock, 130 interrupted.\n',
    );

  program
    .command('reconcile')
    .description('run a reconciliation now (full or windowed, as the timer would, unless --mode says otherwise)')
    .addOption(new Option('--mode <mode>', 'force a full sync or a change window').choices(['full', 'window']))
    .option('--dry-run', 'write nothing; print what would be created, updated and deleted (the drift report)')
    .option('--json', 'machine-readable output on stdout')
    .option('--no-progress', 'no progress output on stderr')
    .option('--wait', 'if another run of the same scope holds the run lock, wait for it instead of exiting with code 3')
    .action(async (opts: { mode?: 'full' | 'window'; dryRun?: boolean; json?: boolean; progress?: boolean; wait?: boolean }) => {
      setExitCode(await reconcileCommand(io, opts));
    });

  program
    .command('status')
    .description('print the sync state kept in Port (cursor, last full sync, last run)')
    .option('--json', 'machine-readable output on stdout')
    .action(async (opts: { json?: boolean }) => {
      setExitCode(await statusCommand(io, opts));
    });

  program
    .command('check')
    .description('check Azure and Port sign-in, Resource Graph access, the blueprints and the queue')
    .option('--json', 'machine-readable output on stdout')
    .action(async (opts: { json?: boolean }) => {
      setExitCode(await checkCommand(io, opts));
    });

  registerMappingCommand(program, io, setExitCode);

  const queueOptions = (command: Command) =>
    command
      .option('--connection <connectionString>', 'storage connection string (default: $AzureWebJobsStorage, else local Azurite)')
      .option(
        '--queue-service-uri <uri>',
        'queue endpoint reached with your Azure sign-in, e.g. https://<account>.queue.core.windows.net (default: $AzureWebJobsStorage__queueServiceUri or __accountName)',
      )
      .option('--queue <name>', 'events queue (default: $RESOURCE_EVENTS_QUEUE or resource-events)');
  type QueueFlags = { connection?: string; queueServiceUri?: string; queue?: string };
  const queueTarget = (opts: QueueFlags) => ({
    connection: queueConnectionFrom(opts, io.env),
    queueName: opts.queue ?? io.env['RESOURCE_EVENTS_QUEUE'] ?? 'resource-events',
    print: (line: string) => io.stdout.write(`${line}\n`),
  });

  queueOptions(
    program
      .command('send-event')
      .description('enqueue one Event Grid event as Event Grid does (base64 JSON): a JSON file, or a sample name such as write, delete or cloud-events-schema/resource_delete_success')
      .argument('<fileOrSample>', 'path to an event JSON file, or a sample name')
      .option('--resource-id <id>', 'retarget the event at this ARM resource id')
      .option('--no-refresh', 'keep the event id and time as they are in the file or sample'),
  ).action(async (fileOrSample: string, opts: QueueFlags & { resourceId?: string; refresh: boolean }) => {
    const { sendEvent } = await import('./queueCommands.js');
    await sendEvent(fileOrSample, {
      ...queueTarget(opts),
      ...(opts.resourceId ? { resourceId: opts.resourceId } : {}),
      refresh: opts.refresh,
    });
  });

  queueOptions(
    program
      .command('replay-poison')
      .description('move messages from <queue>-poison back to <queue> after a fix (each is sent before it is deleted)')
      .option('--dry-run', 'only print what would move')
      .option('--max <n>', 'move at most n messages', (value: string) => {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number of messages, got "${value}"`);
        return n;
      }),
  ).action(async (opts: QueueFlags & { dryRun?: boolean; max?: number }) => {
    const { replayPoison } = await import('./queueCommands.js');
    await replayPoison({
      ...queueTarget(opts),
      dryRun: opts.dryRun ?? false,
      ...(opts.max !== undefined ? { max: opts.max } : {}),
    });
  });

  return program;
}

/** Runs the CLI with `argv` (arguments only, no node/script) and returns the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors were already printed by commander.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof CliExit) {
      io.stderr.write(error.message + '\n');
      return error.code;
    }
    io.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  }
  return exitCode;
}

function invokedDirectly(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  // Ctrl-C stops a run cleanly (run lock released, sync state untouched); a second Ctrl-C quits at once.
  const interrupt = new AbortController();
  process.once('SIGINT', () => {
    process.stderr.write('interrupted: stopping (Ctrl-C again to quit at once)\n');
    interrupt.abort(new Error('interrupted'));
    process.once('SIGINT', () => process.exit(EXIT.interrupted));
  });
  runCli(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr, abortSignal: interrupt.signal }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = EXIT.failed;
    },
  );
}
