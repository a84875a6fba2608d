/**
 * `npm run send-event -- <file|sample> [--resource-id <id>] [--connection <cs>] [--queue <name>]`
 * Enqueues one event the way Event Grid does (base64 JSON), for local runs against Azurite.
 */
import { Command } from 'commander';
import { sendEvent } from './queueCommands.js';

const program = new Command('send-event')
  .description('Enqueue one Event Grid event (a JSON file or a sample name such as resource_write_success or cloud-events-schema/resource_delete_success)')
  .argument('<fileOrSample>', 'path to an event JSON file, or a sample name')
  .option('--resource-id <id>', 'retarget the event at this ARM resource id')
  .option('--connection <connectionString>', 'storage connection string (default: $AzureWebJobsStorage or UseDevelopmentStorage=true)')
  .option('--queue <name>', 'queue name (default: $RESOURCE_EVENTS_QUEUE or resource-events)')
  .option('--no-refresh', 'keep the event id and time as they are in the file or sample')
  .action(async (fileOrSample: string, opts: { resourceId?: string; connection?: string; queue?: string; refresh: boolean }) => {
    await sendEvent(fileOrSample, {
      connection: opts.connection ?? process.env['AzureWebJobsStorage'] ?? 'UseDevelopmentStorage=true',
      queueName: opts.queue ?? process.env['RESOURCE_EVENTS_QUEUE'] ?? 'resource-events',
      ...(opts.resourceId ? { resourceId: opts.resourceId } : {}),
      refresh: opts.refresh,
    });
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`send-event: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
