import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueServiceClient } from '@azure/storage-queue';
import { replayPoison, sendEvent } from '../../shared/cli/queueCommands.js';
import { parseQueueMessage } from '../../shared/sync/events/message.js';
import { QueuePoisonMover } from '../../shared/sync/events/poison.js';
import { startAzurite, type AzuriteHandle } from '../support/azurite.js';

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const ID = `/subscriptions/${SUB}/resourceGroups/rg-cli/providers/Microsoft.Web/sites/cli-app`;
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

let azurite: AzuriteHandle;
beforeAll(async () => {
  azurite = await startAzurite();
}, 30_000);
afterAll(async () => azurite?.stop());

const service = () => QueueServiceClient.fromConnectionString(azurite.connectionString);
async function receiveAll(queueName: string): Promise<string[]> {
  const got = await service().getQueueClient(queueName).receiveMessages({ numberOfMessages: 32 });
  return got.receivedMessageItems.map((m) => m.messageText);
}

describe('sendEvent', () => {
  it('enqueues a spec sample as Event Grid does: base64 JSON, retargeted, fresh id and time', async () => {
    const lines: string[] = [];
    const before = Date.now();
    const result = await sendEvent('write', { connection: azurite.connectionString, queueName: 'cli-send', resourceId: ID, print: (l) => lines.push(l) });
    const [text] = await receiveAll('cli-send');
    const event = JSON.parse(Buffer.from(text!, 'base64').toString('utf8')) as Record<string, unknown>;
    expect(event['eventType']).toBe('Microsoft.Resources.ResourceWriteSuccess');
    expect((event['data'] as Record<string, unknown>)['resourceUri']).toBe(ID);
    expect(event['subject']).toBe(ID);
    expect(event['id']).not.toBe('4db48cba-50a2-455a-93b4-de41a3b5b7f6');
    expect(Date.parse(String(event['eventTime']))).toBeGreaterThanOrEqual(before - 1000);
    expect(JSON.stringify(event)).not.toContain('{subscription-id}');
    expect(await parseQueueMessage(text)).toMatchObject({ kind: 'event', event: { resourceUri: ID } });
    expect(lines).toEqual([`sent Microsoft.Resources.ResourceWriteSuccess for ${ID} to cli-send (message ${result.messageId})`]);
  });

  it('takes CloudEvents sample names and files', async () => {
    await sendEvent('cloud-events-schema/resource_delete_success', { connection: azurite.connectionString, queueName: 'cli-send2', resourceId: ID, print: () => {} });
    const dir = mkdtempSync(path.join(tmpdir(), 'send-event-'));
    const file = path.join(dir, 'event.json');
    writeFileSync(file, JSON.stringify({ id: 'fixed', eventType: 'Microsoft.Resources.ResourceWriteSuccess', subject: ID, eventTime: '2026-01-01T00:00:00Z', dataVersion: '2', data: { resourceUri: ID } }));
    await sendEvent(file, { connection: azurite.connectionString, queueName: 'cli-send2', print: () => {} });
    const texts = await receiveAll('cli-send2');
    const parsed = await Promise.all(texts.map((t) => parseQueueMessage(t)));
    expect(parsed.map((p) => (p.kind === 'event' ? [p.event.schema, p.event.eventType] : p.kind))).toEqual([
      ['CloudEventSchemaV1_0', 'Microsoft.Resources.ResourceDeleteSuccess'],
      ['EventGridSchema', 'Microsoft.Resources.ResourceWriteSuccess'],
    ]);
    // A file is sent as written (no refresh unless asked).
    expect(parsed[1]).toMatchObject({ event: { id: 'fixed' } });
  });

  it('names what is wrong with bad input', async () => {
    await expect(sendEvent('resource_nope', { connection: azurite.connectionString, queueName: 'cli-send3' })).rejects.toThrow(/no sample "resource_nope"/);
    await expect(sendEvent('../etc/passwd-ish', { connection: azurite.connectionString, queueName: 'cli-send3' })).rejects.toThrow(/neither a file nor a sample name/);
    await expect(sendEvent('write', { connection: azurite.connectionString, queueName: 'Bad_Queue' })).rejects.toThrow(/not a storage queue name/);
    await expect(sendEvent('write', { connection: '', queueName: 'cli-send3' })).rejects.toThrow(/no storage connection/);
  });

  it('runs as `npm run send-event` (commander entry file)', async () => {
    const run = promisify(execFile);
    const { stdout } = await run(path.join(REPO, 'node_modules', '.bin', 'tsx'), ['shared/cli/main.ts', 'send-event', 'delete', '--resource-id', ID, '--queue', 'cli-entry', '--connection', azurite.connectionString], {
      cwd: REPO,
      env: process.env,
    });
    expect(stdout).toMatch(/^sent Microsoft\.Resources\.ResourceDeleteSuccess for \/subscriptions\/.*cli-app to cli-entry/);
    expect(await receiveAll('cli-entry')).toHaveLength(1);
  });
});

describe('replayPoison', () => {
  it('dry-run names what a poison envelope holds and why it was poisoned', async () => {
    const poison = service().getQueueClient('envelope-poison');
    await poison.createIfNotExists();
    const event = { id: 'e1', eventType: 'Microsoft.Resources.ResourceWriteSuccess', data: { resourceUri: `${ID}-env` } };
    await new QueuePoisonMover(poison).moveToPoison(Buffer.from(JSON.stringify(event)).toString('base64'), 'data.resourceUri: not an ARM id');
    const lines: string[] = [];
    await replayPoison({ connection: azurite.connectionString, queueName: 'envelope', dryRun: true, print: (l) => lines.push(l) });
    const listed = lines.find((l) => l.startsWith('would move'));
    expect(listed).toContain(`Microsoft.Resources.ResourceWriteSuccess ${ID}-env`);
    expect(listed).toContain('(poisoned: data.resourceUri: not an ARM id)');
  });

  it('dry-run lists without moving; a bounded run moves exactly max messages, unchanged', async () => {
    const poison = service().getQueueClient('replay-poison');
    const main = service().getQueueClient('replay');
    await poison.createIfNotExists();
    const texts = ['one', 'two', 'three'].map((n) =>
      Buffer.from(JSON.stringify({ id: n, eventType: 'Microsoft.Resources.ResourceWriteSuccess', data: { resourceUri: `${ID}-${n}` } })).toString('base64'),
    );
    for (const t of texts) await poison.sendMessage(t);

    const dryLines: string[] = [];
    const dry = await replayPoison({ connection: azurite.connectionString, queueName: 'replay', dryRun: true, print: (l) => dryLines.push(l) });
    expect(dry).toEqual({ moved: 0, wouldMove: 3, remaining: 3 });
    expect(dryLines.filter((l) => l.startsWith('would move'))).toHaveLength(3);
    expect(dryLines.at(-1)).toBe('dry run: 3 of 3 message(s) would move from replay-poison to replay');
    expect(await main.exists()).toBe(false);

    const moved = await replayPoison({ connection: azurite.connectionString, queueName: 'replay', max: 2, print: () => {} });
    expect(moved).toEqual({ moved: 2, wouldMove: 2, remaining: 1 });
    const back = await receiveAll('replay');
    expect(back).toHaveLength(2);
    for (const t of back) expect(texts).toContain(t);

    const rest = await replayPoison({ connection: azurite.connectionString, queueName: 'replay', print: () => {} });
    expect(rest).toEqual({ moved: 1, wouldMove: 1, remaining: 0 });
  });

  it('reports a missing poison queue instead of failing', async () => {
    const lines: string[] = [];
    expect(await replayPoison({ connection: azurite.connectionString, queueName: 'never-poisoned', print: (l) => lines.push(l) })).toEqual({ moved: 0, wouldMove: 0, remaining: 0 });
    expect(lines).toEqual(['never-poisoned-poison does not exist: nothing to replay']);
  });
});
