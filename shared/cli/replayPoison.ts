/**
 * `npm run replay-poison -- [--dry-run] [--max <n>] [--connection <cs>] [--queue <name>]`
 * Moves messages from `<queue>-poison` back to `<queue>` once the cause is fixed.
 */
import { Command, InvalidArgumentError } from 'commander';
import { replayPoison } from './queueCommands.js';

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number of messages, got "${value}"`);
  return n;
}

const program = new Command('replay-poison')
  .description('Move poisoned messages back to the events queue (each is sent before it is deleted)')
  .option('--dry-run', 'only print what would move')
  .option('--max <n>', 'move at most n messages', count)
  .option('--connection <connectionString>', 'storage connection string (default: $AzureWebJobsStorage or UseDevelopmentStorage=true)')
  .option('--queue <name>', 'events queue name; the poison queue is <name>-poison (default: $RESOURCE_EVENTS_QUEUE or resource-events)')
  .action(async (opts: { dryRun?: boolean; max?: number; connection?: string; queue?: string }) => {
    await replayPoison({
      connection: opts.connection ?? process.env['AzureWebJobsStorage'] ?? 'UseDevelopmentStorage=true',
      queueName: opts.queue ?? process.env['RESOURCE_EVENTS_QUEUE'] ?? 'resource-events',
      dryRun: opts.dryRun ?? false,
      ...(opts.max !== undefined ? { max: opts.max } : {}),
    });
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`replay-poison: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
