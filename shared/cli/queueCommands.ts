/**
 * Operator commands for the events queue: send an event the way Event Grid does, and move poisoned messages back.
 * The CLI (shared/cli/main.ts: `send-event`, `replay-poison`) calls these.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { QueueClient } from '@azure/storage-queue';
import { parseResourceId } from '../azure/resourceId.js';
import { createQueueServiceClient, type QueueConnection } from '../azure/storageQueue.js';

/** Microsoft's sample events, as kept in the reference folder; overridable for installed copies. */
export const DEFAULT_SAMPLES_DIR =
  process.env['AZURE_EVENT_SAMPLES_DIR'] ??
  path.resolve(process.cwd(), '../shared/reference/azure-specs/eventgrid/data-plane/Microsoft.Resources/stable/2018-01-01/examples');

export interface QueueTarget {
  /**
   * A storage connection string (`UseDevelopmentStorage=true` for Azurite on the default ports), or a queue endpoint
   * reached with an Entra ID credential (deployed storage refuses shared keys).
   */
  connection: string | QueueConnection;
  queueName: string;
}

export interface SendEventOptions extends QueueTarget {
  /** Retarget the event at this ARM id (sample placeholders or a file's own id are replaced). */
  resourceId?: string;
  /** Stamp the event with the current time and a fresh id (default true for samples, false for files). */
  refresh?: boolean;
  samplesDir?: string;
  /** Where progress lines go (default stdout). */
  print?: (line: string) => void;
}

export interface SendEventResult {
  messageId: string;
  eventId: string;
  eventType: string;
  resourceUri: string;
}

async function queueClient(target: QueueTarget): Promise<QueueClient> {
  const connection = typeof target.connection === 'string' ? { connectionString: target.connection } : target.connection;
  if ('connectionString' in connection && !connection.connectionString.trim()) {
    throw new Error('no storage connection: pass --connection or --queue-service-uri, or set AzureWebJobsStorage');
  }
  if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(target.queueName)) {
    throw new Error(`"${target.queueName}" is not a storage queue name (3-63 lower-case letters, digits and single hyphens)`);
  }
  return (await createQueueServiceClient(connection)).getQueueClient(target.queueName);
}

/** `resource_write_success`, `cloud-events-schema/resource_delete_success`, or `write` / `delete` shorthands. */
async function resolveSample(nameOrFile: string, samplesDir: string): Promise<{ body: Record<string, unknown>; isSample: boolean }> {
  if (existsSync(nameOrFile)) {
    const text = await readFile(nameOrFile, 'utf8');
    try {
      return { body: JSON.parse(text) as Record<string, unknown>, isSample: false };
    } catch (error) {
      throw new Error(`${nameOrFile} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const shorthand: Record<string, string> = { write: 'resource_write_success', delete: 'resource_delete_success' };
  const [maybeSchema, maybeName] = nameOrFile.includes('/') ? nameOrFile.split('/', 2) : ['event-grid-schema', nameOrFile];
  const name = shorthand[maybeName!] ?? maybeName!.replace(/\.json$/, '');
  const schema = maybeSchema!;
  if (!['event-grid-schema', 'cloud-events-schema'].includes(schema) || !/^resource_[a-z_]+$/.test(name)) {
    throw new Error(`"${nameOrFile}" is neither a file nor a sample name such as resource_write_success or cloud-events-schema/resource_delete_success`);
  }
  const candidates = [path.join(samplesDir, schema, `${name}.json`), ...(schema === 'event-grid-schema' ? [path.join(samplesDir, `${name}.json`)] : [])];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`no sample "${name}" (${schema}) under ${samplesDir}`);
  return { body: JSON.parse(await readFile(found, 'utf8')) as Record<string, unknown>, isSample: true };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ID_SHAPE = '/subscriptions/<subscription-id>[/resourceGroups/<group>[/providers/<Namespace>/<type>/<name>]]';

/** Throws an error naming what is wrong with a --resource-id (before anything is sent). */
export function validateResourceId(id: string): void {
  let subscriptionId: string;
  try {
    subscriptionId = parseResourceId(id).subscriptionId;
  } catch (error) {
    const problem = error instanceof Error ? error.message : String(error);
    throw new Error(`--resource-id: ${problem}; expected ${ID_SHAPE}`);
  }
  if (!GUID.test(subscriptionId)) {
    throw new Error(`--resource-id: "${subscriptionId}" is not a subscription id (a GUID such as 00000000-0000-0000-0000-000000000000) in "${id}"`);
  }
}

function retarget(event: Record<string, unknown>, resourceId: string): Record<string, unknown> {
  const data = event['data'] as Record<string, unknown> | undefined;
  const current = typeof data?.['resourceUri'] === 'string' ? (data['resourceUri'] as string) : undefined;
  if (!current) throw new Error('the event has no data.resourceUri to retarget');
  const pattern = new RegExp(current.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/resource[Gg]roups/g, 'resource[Gg]roups'), 'g');
  const subscriptionId = resourceId.split('/')[2] ?? '';
  const text = JSON.stringify(event)
    .replace(pattern, () => resourceId)
    .replace(/\{subscription-id\}/g, () => subscriptionId)
    .replace(/\{resource-group\}/g, () => resourceId.split('/')[4] ?? '');
  return JSON.parse(text) as Record<string, unknown>;
}

/** Enqueues one event exactly as Event Grid delivers it to a Storage queue: base64 of the JSON event. */
export async function sendEvent(fileOrSampleName: string, options: SendEventOptions): Promise<SendEventResult> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  if (options.resourceId !== undefined) validateResourceId(options.resourceId);
  const { body, isSample } = await resolveSample(fileOrSampleName, options.samplesDir ?? DEFAULT_SAMPLES_DIR);
  let event = options.resourceId ? retarget(body, options.resourceId) : body;
  if (options.refresh ?? isSample) {
    event = { ...event, id: randomUUID() };
    if ('specversion' in event) event['time'] = new Date().toISOString();
    else event['eventTime'] = new Date().toISOString();
  }
  const queue = await queueClient(options);
  await queue.createIfNotExists();
  const sent = await queue.sendMessage(Buffer.from(JSON.stringify(event), 'utf8').toString('base64'));
  const data = (event['data'] ?? {}) as Record<string, unknown>;
  const result: SendEventResult = {
    messageId: sent.messageId,
    eventId: String(event['id']),
    eventType: String(event['eventType'] ?? event['type']),
    resourceUri: String(data['resourceUri']),
  };
  print(`sent ${result.eventType} for ${result.resourceUri} to ${options.queueName} (message ${result.messageId})`);
  return result;
}

export interface ReplayPoisonOptions extends QueueTarget {
  /** Only print what would move. */
  dryRun?: boolean;
  /** Move at most this many (default: all). */
  max?: number;
  print?: (line: string) => void;
}

export interface ReplayPoisonResult {
  moved: number;
  /** In dry-run: how many would move. */
  wouldMove: number;
  remaining: number;
}

function describe(text: string): string {
  let decoded = text;
  try {
    decoded = Buffer.from(text, 'base64').toString('utf8');
    const parsed = JSON.parse(decoded) as Record<string, unknown>;
    // A poison envelope (poison.ts): say why, then describe what it holds.
    if (parsed['azurePortSyncPoisoned'] === 1) {
      const inner = parsed['body'];
      const what = typeof inner === 'string' ? describe(inner) : inner && typeof inner === 'object' ? describe(Buffer.from(JSON.stringify(inner)).toString('base64')) : 'body omitted';
      return `${what} (poisoned: ${String(parsed['reason'] ?? 'no reason')})`;
    }
    const value = parsed;
    const data = (value['data'] ?? {}) as Record<string, unknown>;
    const type = value['eventType'] ?? value['type'] ?? (value['azurePortSyncRecheck'] ? `recheck:${String(value['hint'])}` : 'unknown');
    const id = data['resourceUri'] ?? value['resourceId'] ?? '';
    return `${String(type)} ${String(id)}`.trim();
  } catch {
    return `${decoded.slice(0, 80).replace(/\s+/g, ' ')}${decoded.length > 80 ? '…' : ''}`;
  }
}

/**
 * Moves messages from `<queue>-poison` back to `<queue>`, unchanged. Each message is sent before it is deleted, so a
 * crash can duplicate a message but never lose one (the handler is idempotent). Dry-run only peeks.
 */
export async function replayPoison(options: ReplayPoisonOptions): Promise<ReplayPoisonResult> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const max = options.max ?? Number.POSITIVE_INFINITY;
  if (!(max >= 0)) throw new Error(`max must be 0 or more, got ${options.max}`);
  const target = await queueClient(options);
  const poison = await queueClient({ ...options, queueName: `${options.queueName}-poison` });
  if (!(await poison.exists())) {
    print(`${options.queueName}-poison does not exist: nothing to replay`);
    return { moved: 0, wouldMove: 0, remaining: 0 };
  }
  const count = (await poison.getProperties()).approximateMessagesCount ?? 0;

  if (options.dryRun) {
    // Peek shows at most 32 messages; the count covers the rest.
    const peeked = await poison.peekMessages({ numberOfMessages: 32 });
    const shown = peeked.peekedMessageItems.slice(0, Math.min(32, max));
    for (const m of shown) print(`would move ${m.messageId}: ${describe(m.messageText)}`);
    const wouldMove = Math.min(count, max);
    if (wouldMove > shown.length) print(`… and ${wouldMove - shown.length} more`);
    print(`dry run: ${wouldMove} of ${count} message(s) would move from ${options.queueName}-poison to ${options.queueName}`);
    return { moved: 0, wouldMove, remaining: count };
  }

  await target.createIfNotExists();
  let moved = 0;
  while (moved < max) {
    const batch = await poison.receiveMessages({ numberOfMessages: Math.min(32, max - moved), visibilityTimeout: 60 });
    if (batch.receivedMessageItems.length === 0) break;
    for (const m of batch.receivedMessageItems) {
      await target.sendMessage(m.messageText);
      await poison.deleteMessage(m.messageId, m.popReceipt);
      moved += 1;
      print(`moved ${m.messageId}: ${describe(m.messageText)}`);
    }
  }
  const remaining = (await poison.getProperties()).approximateMessagesCount ?? 0;
  print(`moved ${moved} message(s) from ${options.queueName}-poison to ${options.queueName}; ${remaining} left`);
  return { moved, wouldMove: moved, remaining };
}
