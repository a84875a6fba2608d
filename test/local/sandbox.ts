/**
 * `npm run sandbox`: the whole app running on this machine with neither Azure nor Port.
 *
 *   1. starts Azurite (queue), the Port emulator and the Resource Graph emulator on 127.0.0.1, the latter loaded with
 *      a generated sample estate;
 *   2. runs the timer's reconciliation (shared/sync/reconcile/host.ts) once, which fills the empty Port catalog;
 *   3. plays a short script of Azure changes: each one changes the emulated estate, enqueues the event Event Grid
 *      would deliver (a spec sample, base64 JSON) and lets the real queue function process it, then shows what
 *      changed in Port, read back from the Port emulator;
 *   4. keeps everything running, with URLs and commands to try, until Ctrl-C (or exits at once with --once).
 *
 * Only the Azure credential differs from production: Resource Graph is read with the emulator's static token.
 * Settings go through loadSettings like the Function App's, with short settle and flush times so a person watching
 * does not wait 90 s per change.
 */
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import type { InvocationContext } from '@azure/functions';
import { createResourceGraphReader } from '../../shared/azure/resourceGraph.js';
import { normalizeResourceId, parseResourceId, toPortIdentifier } from '../../shared/azure/resourceId.js';
import type { ArgRow } from '../../shared/azure/types.js';
import { createLogger, type Logger, type LogLevel } from '../../shared/log.js';
import { mapRow } from '../../shared/mapping/index.js';
import type { BlueprintIds } from '../../shared/port/blueprints.js';
import { createPortClient } from '../../shared/port/client.js';
import type { PortEntity, StoredEntity } from '../../shared/port/types.js';
import { loadSettings, parseDurationMs, type Settings } from '../../shared/settings.js';
import { parseRecheckMessage } from '../../shared/sync/events/recheck.js';
import { createEventProcessor } from '../../shared/sync/events/runtime.js';
import { currentRun, requestResync, runScheduledReconciliation, useReconcileDepsFactory } from '../../shared/sync/reconcile/host.js';
import type { RunSummary } from '../../shared/sync/reconcile/runReconciliation.js';
import { resourceEventsHandler, useEventProcessor } from '../../functions/resourceEvents.js';
import { startAzurite, type AzuriteHandle } from '../support/azurite.js';
import { createQueueHost, type QueueHost } from '../support/queueHost.js';
import { startPortEmulator, type PortEmulator } from '../emulators/port/server.js';
import { startResourceGraphEmulator, type ResourceGraphEmulator } from '../emulators/resourceGraph/server.js';
import { generateEstate } from '../fixtures/estate.js';
import { sampleEvent, toQueueText, type SampleName, type SampleSchema } from '../events/samples.js';

export interface SandboxOptions {
  subscriptions: number;
  resourceGroups: number;
  resources: number;
  /** generateEstate seed: the same seed gives the same estate. */
  seed: number;
  /** EVENT_SETTLE_TIME (production default 90s). */
  settleTime: string;
  /** EVENT_FLUSH_WINDOW. */
  flushWindow: string;
  /** How long an Azure write takes to show in Resource Graph (real Resource Graph: seconds to a minute or two). */
  lagMs: number;
  /** Print every application log line (JSON) instead of warnings and errors only. */
  verbose: boolean;
  /** Where the sandbox's output goes (default stdout). */
  print: (line: string) => void;
}

export const DEFAULT_SANDBOX_OPTIONS: Readonly<SandboxOptions> = {
  subscriptions: 3,
  resourceGroups: 12,
  resources: 300,
  seed: 7,
  settleTime: '5s',
  flushWindow: '50ms',
  lagMs: 1_000,
  verbose: false,
  print: (line) => process.stdout.write(`${line}\n`),
};

/** One entity that is not as the mapping of the current Azure state says it should be. */
export interface CatalogDifference {
  blueprint: string;
  identifier: string;
  problem: 'missing' | 'extra' | 'different';
  fields?: string[];
}

export interface CatalogComparison {
  ok: boolean;
  /** Entities expected across the three catalog blueprints. */
  expected: number;
  differences: CatalogDifference[];
}

export interface StepReport {
  title: string;
  /** The ARM ids the step changed (as the script wrote them), whose Port entities it waited for. */
  resourceIds: string[];
  ok: boolean;
  /** From sending the event(s) to Port showing the expected state. */
  elapsedMs: number;
  /** Re-check messages the function sent itself for the step's ids while Resource Graph caught up. */
  rechecks: number;
  /** What changed in Port, one line per entity (or per group of alike entities). */
  portChanges: string[];
}

interface ScriptEvent {
  sample: SampleName;
  resourceId: string;
  schema?: SampleSchema;
}

interface ScriptStep {
  title: string;
  /** The Azure side of the change, applied to the Resource Graph emulator. */
  change(arg: ResourceGraphEmulator): void;
  /** What Event Grid delivers to the queue for it. */
  events: ScriptEvent[];
  /** ARM ids whose Port entities must end up matching Azure. */
  watch: string[];
}

const QUEUE_NAME = 'resource-events';

const color = (code: number) => (text: string) =>
  process.stdout.isTTY && !process.env['NO_COLOR'] ? `\u001b[${code}m${text}\u001b[0m` : text;
const bold = color(1);
const dim = color(2);
const green = color(32);
const red = color(31);
const yellow = color(33);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for `work`, but at most `ms`; whatever it was doing is left behind. */
async function atMost(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** Key-sorted JSON, so two objects with the same content compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** The fields of a stored entity that differ from what the mapping would write; empty when it matches. */
export function entityDifferences(stored: StoredEntity, expected: PortEntity): string[] {
  const fields: string[] = [];
  if ((stored.title ?? undefined) !== expected.title) fields.push('title');
  const storedProps = stored.properties ?? {};
  for (const key of new Set([...Object.keys(storedProps), ...Object.keys(expected.properties)])) {
    // Port stores an absent property as null; both mean "not set".
    const a = storedProps[key] ?? null;
    const b = expected.properties[key] ?? null;
    if (canonical(a) !== canonical(b)) fields.push(`properties.${key}`);
  }
  const storedRels = stored.relations ?? {};
  for (const key of new Set([...Object.keys(storedRels), ...Object.keys(expected.relations)])) {
    if (canonical(storedRels[key] ?? null) !== canonical(expected.relations[key] ?? null)) fields.push(`relations.${key}`);
  }
  return fields;
}

function blueprintForId(id: string, ids: BlueprintIds): string {
  const kind = parseResourceId(id).kind;
  if (kind === 'subscription') return ids.subscription;
  if (kind === 'resourceGroup') return ids.resourceGroup;
  return ids.resource;
}

function tagsOf(entity: StoredEntity | undefined): Record<string, string> {
  const tags = entity?.properties?.['tags'];
  return tags && typeof tags === 'object' ? (tags as Record<string, string>) : {};
}

function describeTagChanges(before: Record<string, string>, after: Record<string, string>): string[] {
  const out: string[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (!(key in before)) out.push(`+${key}=${after[key]}`);
    else if (!(key in after)) out.push(`-${key}`);
    else if (before[key] !== after[key]) out.push(`${key}: ${before[key]} → ${after[key]}`);
  }
  return out;
}

function shortDescription(entity: StoredEntity): string {
  const p = entity.properties ?? {};
  const facts = [p['type'], p['location']].filter((v): v is string => typeof v === 'string' && v !== '');
  return `"${entity.title ?? entity.identifier}"${facts.length ? ` (${facts.join(', ')})` : ''}`;
}

/** Port-side changes between two snapshots of the watched entities, alike deletions folded into one line. */
function describePortChanges(
  watched: { blueprint: string; identifier: string }[],
  before: Map<string, StoredEntity | undefined>,
  after: Map<string, StoredEntity | undefined>,
): string[] {
  const lines: string[] = [];
  const deletedByBlueprint = new Map<string, StoredEntity[]>();
  for (const { blueprint, identifier } of watched) {
    const key = `${blueprint}\u0000${identifier}`;
    const was = before.get(key);
    const now = after.get(key);
    if (!was && now) {
      const tags = Object.entries(tagsOf(now)).map(([k, v]) => `${k}=${v}`);
      lines.push(`created ${blueprint} ${shortDescription(now)}${tags.length ? ` tags ${tags.join(', ')}` : ''}`);
      lines.push(`        identifier ${identifier}`);
    } else if (was && !now) {
      deletedByBlueprint.set(blueprint, [...(deletedByBlueprint.get(blueprint) ?? []), was]);
    } else if (was && now) {
      const changes: string[] = [];
      if (was.title !== now.title) changes.push(`title "${was.title}" → "${now.title}"`);
      const tagChanges = describeTagChanges(tagsOf(was), tagsOf(now));
      if (tagChanges.length) changes.push(`tags ${tagChanges.join(', ')}`);
      const props = new Set([...Object.keys(was.properties ?? {}), ...Object.keys(now.properties ?? {})]);
      props.delete('tags');
      for (const prop of props) {
        if (canonical(was.properties?.[prop] ?? null) !== canonical(now.properties?.[prop] ?? null)) changes.push(`${prop} changed`);
      }
      lines.push(
        changes.length
          ? `updated ${blueprint} "${now.title ?? identifier}": ${changes.join('; ')}`
          : `no change to ${blueprint} "${now.title ?? identifier}"`,
      );
    }
  }
  for (const [blueprint, entities] of deletedByBlueprint) {
    const names = entities.map((e) => e.title ?? e.identifier);
    lines.push(
      entities.length <= 2
        ? `deleted ${blueprint} ${names.map((n) => `"${n}"`).join(', ')}`
        : `deleted ${entities.length} ${blueprint} entities (${names.slice(0, 3).join(', ')}, …)`,
    );
  }
  return lines;
}

/** A parsed `event processed {…}` line of the function's invocation log, for the live view. */
function parseProcessedLine(message: string): Record<string, unknown> | undefined {
  if (!message.startsWith('event processed ')) return undefined;
  try {
    return JSON.parse(message.slice('event processed '.length)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function parseDuration(name: string, raw: string, minMs: number): number {
  const ms = parseDurationMs(raw);
  if (ms === undefined) throw new Error(`${name} must be a duration such as 500ms, 5s or 2m, got "${raw}"`);
  if (ms < minMs) throw new Error(`${name} must be at least ${minMs} ms, got "${raw}"`);
  return ms;
}

/** The running sandbox: services, the app wired to them, and what the script did. */
export class Sandbox {
  readonly steps: StepReport[] = [];
  /** Payloads the function was invoked with that were its own re-check messages: normalised id → count. */
  private readonly rechecksSeen = new Map<string, number>();
  private live = false;
  private closed = false;
  private interrupted = false;

  private constructor(
    readonly options: SandboxOptions,
    readonly azurite: AzuriteHandle,
    readonly port: PortEmulator,
    readonly arg: ResourceGraphEmulator,
    readonly settings: Settings,
    /** The app settings the sandbox runs with (as local.settings.json Values would hold them). */
    readonly env: Record<string, string>,
    readonly host: QueueHost,
    private readonly logger: Logger,
  ) {}

  /**
   * Starts the services and wires the app to them; the catalog is still empty. Close it even if later steps fail.
   * One per process: the function's processor and the reconciliation's clients are module-wide overrides.
   */
  static async start(overrides: Partial<SandboxOptions> = {}): Promise<Sandbox> {
    const options: SandboxOptions = { ...DEFAULT_SANDBOX_OPTIONS, ...overrides };
    const settleMs = parseDuration('settle time (--settle)', options.settleTime, 1_000);
    parseDuration('flush window', options.flushWindow, 0);
    if (!Number.isInteger(options.lagMs) || options.lagMs < 0) throw new Error(`lag must be a whole number of ms ≥ 0, got ${options.lagMs}`);
    if (options.lagMs >= settleMs) {
      throw new Error(`the Resource Graph lag (${options.lagMs} ms) must be shorter than the settle time (${options.settleTime}), or writes would never be seen`);
    }
    const estate = generateEstate({
      subscriptions: options.subscriptions,
      resourceGroups: options.resourceGroups,
      resources: options.resources,
      seed: options.seed,
    });
    if (estate.resources.length < 10 || estate.resourceGroups.length < 3) {
      throw new Error('the sample estate needs at least 10 resources in 3 resource groups for the scripted changes');
    }

    const started = await Promise.allSettled([
      startAzurite(),
      startPortEmulator(),
      startResourceGraphEmulator({ estate, lag: { resourcesMs: options.lagMs, changesMs: options.lagMs } }),
    ] as const);
    const [azuriteResult, portResult, argResult] = started;
    if (azuriteResult.status === 'rejected' || portResult.status === 'rejected' || argResult.status === 'rejected') {
      await Promise.allSettled([
        azuriteResult.status === 'fulfilled' ? azuriteResult.value.stop() : undefined,
        portResult.status === 'fulfilled' ? portResult.value.close() : undefined,
        argResult.status === 'fulfilled' ? argResult.value.close() : undefined,
      ]);
      const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
      throw failed.reason;
    }
    const azurite = azuriteResult.value;
    const port = portResult.value;
    const arg = argResult.value;

    try {
      const env: Record<string, string> = {
        PORT_CLIENT_ID: port.clientId,
        PORT_CLIENT_SECRET: port.clientSecret,
        PORT_API_URL: port.url,
        AZURE_ARM_ENDPOINT: arg.url,
        AzureWebJobsStorage: azurite.connectionString,
        RESOURCE_EVENTS_QUEUE: QUEUE_NAME,
        EVENT_SETTLE_TIME: options.settleTime,
        EVENT_FLUSH_WINDOW: options.flushWindow,
        LOG_LEVEL: options.verbose ? 'debug' : 'info',
      };
      const settings = loadSettings(env);
      const print = options.print;
      const logger = createLogger((level, message, fields) => {
        if (options.verbose) print(dim(JSON.stringify({ level, message, ...fields })));
        else if (level === 'warn' || level === 'error') print(`      ${yellow('!')} ${message} ${dim(JSON.stringify(fields))}`);
      }, settings.logLevel);
      // The production reader, except for the credential: the emulator accepts its static token.
      const graph = createResourceGraphReader(settings.azure, logger, { credential: arg.credential });
      const reconcilePort = createPortClient(settings.port, logger);
      useReconcileDepsFactory(async (runLogger) => ({ port: reconcilePort, graph, settings, logger: runLogger }));
      useEventProcessor(await createEventProcessor(settings, logger, { resourceGraph: graph }));

      let sandbox: Sandbox | undefined;
      const host = await createQueueHost({
        connectionString: azurite.connectionString,
        queueName: settings.events.queueName,
        handler: (message: unknown, context: InvocationContext) => {
          sandbox?.noteInvocation(message);
          return resourceEventsHandler(message, context);
        },
        // host.json's 2 s idle polling is for a quiet production queue; someone is watching here.
        config: { maxPollingIntervalMs: 250 },
        logHandler: (level, message) => sandbox?.onFunctionLog(level, message),
      });
      host.start();
      sandbox = new Sandbox(options, azurite, port, arg, settings, env, host, logger);
      return sandbox;
    } catch (error) {
      useEventProcessor(undefined);
      useReconcileDepsFactory(undefined);
      await Promise.allSettled([azurite.stop(), port.close(), arg.close()]);
      throw error;
    }
  }

  private noteInvocation(message: unknown): void {
    const recheck = parseRecheckMessage(message);
    if (!recheck.ok) return;
    const key = normalizeResourceId(recheck.value.resourceId);
    this.rechecksSeen.set(key, (this.rechecksSeen.get(key) ?? 0) + 1);
  }

  private onFunctionLog(level: string, message: string): void {
    const print = this.options.print;
    if (this.options.verbose) {
      print(dim(`      [resourceEvents ${level}] ${message}`));
      return;
    }
    if (level === 'warning' || level === 'warn' || level === 'error') {
      print(`      ${yellow('!')} resourceEvents: ${message}`);
      return;
    }
    if (!this.live) return;
    const processed = parseProcessedLine(message);
    if (processed) {
      const what = processed['eventType'] ?? String(processed['operation'] ?? 'message').replace(/^recheck:/, 're-check, ');
      const target = processed['resourceUri'] ?? processed['resourceId'] ?? '';
      print(`  ${dim(new Date().toISOString().slice(11, 19))} ${String(what)} ${String(target)} → ${bold(String(processed['outcome']))}`);
    }
  }

  get blueprints(): BlueprintIds {
    return this.settings.port.blueprints;
  }

  /** One run of the timer's reconciliation; `full` goes through the HTTP resync path to force a full sync. */
  async reconcile(mode: 'auto' | 'full' = 'auto'): Promise<RunSummary | undefined> {
    if (mode === 'full') {
      const accepted = await requestResync('full', this.logger);
      return accepted.status === 'accepted' ? currentRun() : undefined;
    }
    return runScheduledReconciliation(this.logger);
  }

  /** Runs the first reconciliation and prints what it did. */
  async initialReconcile(): Promise<RunSummary> {
    const print = this.options.print;
    print('');
    print(bold('1. Reconciliation') + dim(' — the timer function\'s code path, reading Resource Graph and writing Port'));
    const summary = await this.reconcile('auto');
    if (!summary) throw new Error('the reconciliation did not run');
    print(
      `   ${summary.status === 'succeeded' ? green('✓') : red('✗')} ${summary.mode} sync — ${summary.modeReason} → ${summary.status} in ${seconds(summary.durationMs)}`,
    );
    const c = summary.counts;
    print(`   created ${c.created}, updated ${c.updated}, unchanged ${c.unchanged}, deleted ${c.deleted}, failed ${c.failed}`);
    const ids = this.blueprints;
    print(
      `   Port now holds ${this.port.entities(ids.subscription).length} ${ids.subscription}, ` +
        `${this.port.entities(ids.resourceGroup).length} ${ids.resourceGroup}, ${this.port.entities(ids.resource).length} ${ids.resource} entities`,
    );
    print(`   ${summary.argQueries} Resource Graph queries, ${summary.portRequests} Port requests`);
    if (summary.error) print(`   ${red('error:')} ${summary.error}`);
    return summary;
  }

  /** The scripted changes, chosen from the current estate so any seed works. */
  private buildScript(): ScriptStep[] {
    const estate = this.arg.estate();
    const resourcesIn = (group: ArgRow) => {
      const prefix = `${normalizeResourceId(group.id)}/`;
      return estate.resources.filter((r) => normalizeResourceId(r.id).startsWith(prefix));
    };
    const groups = estate.resourceGroups.filter((g) => resourcesIn(g).length > 0);
    if (groups.length < 2) throw new Error('the sample estate needs two resource groups with resources');
    // The group to delete and re-create: the one whose name shows a casing change best.
    const doomed = groups.find((g) => /^[a-z0-9-]+$/.test(String(g.name))) ?? groups[groups.length - 1]!;
    const keep = groups.filter((g) => g !== doomed);
    const vmGroup = keep[0]!;
    const others = keep.flatMap(resourcesIn);
    const storage = others.find((r) => r.type === 'microsoft.storage/storageaccounts' && r.tags) ?? others[0]!;
    const victim = others.find((r) => r !== storage && r.type === 'microsoft.network/publicipaddresses') ?? others.find((r) => r !== storage)!;

    const vmId = `${vmGroup.id}/providers/Microsoft.Compute/virtualMachines/vm-sandbox-01`;
    const storageTags = { ...(storage.tags ?? {}), env: 'prod', 'cost-center': '4242' };
    const doomedChildren = resourcesIn(doomed);
    const upper = String(doomed.name).toUpperCase();
    const recreatedName = upper !== doomed.name ? upper : upper.toLowerCase();
    // Swap the segment's casing too: ARM ids disagree on it and the catalog must not care.
    const segment = doomed.id.includes('/resourceGroups/') ? 'resourcegroups' : 'resourceGroups';
    const recreatedId = `/subscriptions/${String(doomed.subscriptionId)}/${segment}/${recreatedName}`;

    return [
      {
        title: `Create virtual machine vm-sandbox-01 in ${vmGroup.name}`,
        change: (arg) =>
          arg.upsertResource({
            id: vmId,
            name: 'vm-sandbox-01',
            type: 'microsoft.compute/virtualmachines',
            kind: '',
            location: String(vmGroup.location),
            resourceGroup: String(vmGroup.resourceGroup),
            subscriptionId: String(vmGroup.subscriptionId),
            tenantId: vmGroup.tenantId ?? null,
            managedBy: '',
            sku: null,
            tags: { env: 'dev', owner: 'you@contoso.com' },
            provisioningState: 'Succeeded',
          }),
        events: [{ sample: 'resource_write_success', resourceId: vmId }],
        watch: [vmId],
      },
      {
        title: `Change tags on storage account ${storage.name} (Tags API: the event is about …/providers/Microsoft.Resources/tags/default)`,
        change: (arg) => arg.upsertResource({ ...storage, tags: storageTags }),
        events: [{ sample: 'resource_write_success', resourceId: `${storage.id}/providers/Microsoft.Resources/tags/default` }],
        watch: [storage.id],
      },
      {
        title: `List the keys of ${storage.name} (an action event: nothing in the catalog should change)`,
        change: () => {},
        events: [{ sample: 'resource_action_success', resourceId: storage.id }],
        watch: [storage.id],
      },
      {
        title: `Delete ${String(victim.type)} ${victim.name} (this event in CloudEvents schema)`,
        change: (arg) => arg.deleteResource(victim.id),
        events: [{ sample: 'resource_delete_success', resourceId: victim.id, schema: 'cloud-events-schema' }],
        watch: [victim.id],
      },
      {
        title: `Delete resource group ${doomed.name} and its ${doomedChildren.length} resources (one event, for the group)`,
        change: (arg) => arg.deleteResourceGroup(doomed.id),
        events: [{ sample: 'resource_delete_success', resourceId: doomed.id }],
        watch: [doomed.id, ...doomedChildren.map((r) => r.id)],
      },
      {
        title: `Re-create it as ${recreatedName}: same group to Azure, different casing in the id`,
        change: (arg) =>
          arg.upsertResourceGroup({
            ...doomed,
            id: recreatedId,
            name: recreatedName,
            tags: { env: 'dev', recreated: 'true' },
          }),
        events: [{ sample: 'resource_write_success', resourceId: recreatedId }],
        watch: [recreatedId],
      },
    ];
  }

  private snapshot(watched: { blueprint: string; identifier: string }[]): Map<string, StoredEntity | undefined> {
    const out = new Map<string, StoredEntity | undefined>();
    for (const { blueprint, identifier } of watched) {
      const stored = this.port.entity(blueprint, identifier);
      out.set(`${blueprint}\u0000${identifier}`, stored ? structuredClone(stored) : undefined);
    }
    return out;
  }

  /** The entity the mapping makes of the current Azure row for `id`, or undefined when Azure has no such row. */
  private expectedFor(id: string, rows: Map<string, ArgRow>): PortEntity | undefined {
    const row = rows.get(normalizeResourceId(id));
    return row ? mapRow(row, this.blueprints)?.entity : undefined;
  }

  private rowsById(): Map<string, ArgRow> {
    return new Map(this.arg.rows().map((r) => [normalizeResourceId(r.id), r]));
  }

  private watchedMatch(watch: string[]): boolean {
    const rows = this.rowsById();
    return watch.every((id) => {
      const stored = this.port.entity(blueprintForId(id, this.blueprints), toPortIdentifier(id));
      const expected = this.expectedFor(id, rows);
      if (!expected || !stored) return !expected && !stored;
      return entityDifferences(stored, expected).length === 0;
    });
  }

  private async runStep(step: ScriptStep, index: number, total: number): Promise<StepReport> {
    const print = this.options.print;
    print(`   ${bold(`[${index}/${total}]`)} ${step.title}`);
    const watched = step.watch.map((id) => ({ blueprint: blueprintForId(id, this.blueprints), identifier: toPortIdentifier(id) }));
    const before = this.snapshot(watched);
    const recheckKeys = new Set(step.watch.map(normalizeResourceId));
    const rechecksBefore = [...recheckKeys].reduce((n, k) => n + (this.rechecksSeen.get(k) ?? 0), 0);

    step.change(this.arg);
    const sent: string[] = [];
    const started = Date.now();
    for (const e of step.events) {
      const event = sampleEvent(e.sample, { resourceId: e.resourceId, ...(e.schema ? { schema: e.schema } : {}) });
      const response = await this.host.queue.sendMessage(toQueueText(event));
      sent.push(response.messageId);
      print(dim(`         queued ${String(event['eventType'] ?? event['type'])} for ${e.resourceId}`));
    }
    const deadline = started + this.settings.events.settleTimeMs + 15_000;
    let ok = false;
    while (Date.now() < deadline && !this.interrupted) {
      const handled = sent.every((id) => this.host.invocations.some((i) => i.messageId === id && (i.outcome === 'succeeded' || i.outcome === 'poisoned')));
      if (handled && this.watchedMatch(step.watch)) {
        ok = true;
        break;
      }
      await sleep(50);
    }
    const elapsedMs = Date.now() - started;
    const rechecks = [...recheckKeys].reduce((n, k) => n + (this.rechecksSeen.get(k) ?? 0), 0) - rechecksBefore;
    const portChanges = describePortChanges(watched, before, this.snapshot(watched));
    const note = rechecks > 0 ? `, re-read ${rechecks}× while Resource Graph caught up` : '';
    if (ok) {
      print(`         ${green('✓')} Port, after ${seconds(elapsedMs)}${note}:`);
      if (elapsedMs >= this.settings.events.settleTimeMs && step.events.some((e) => e.sample === 'resource_write_success')) {
        print(dim('           (an update: Resource Graph first showed the previous version, which the function wrote; the confirming'));
        print(dim('            re-read EVENT_SETTLE_TIME after the event saw the change)'));
      }
    } else if (this.interrupted) {
      print(`         ${yellow('–')} interrupted`);
    } else {
      print(`         ${red('✗')} Port did not match Azure within ${seconds(elapsedMs)}${note}. Port now:`);
    }
    if (ok || !this.interrupted) {
      for (const line of portChanges.length ? portChanges : ['no entity changed']) print(`           ${line}`);
    }
    const report: StepReport = { title: step.title, resourceIds: step.watch, ok, elapsedMs, rechecks, portChanges };
    this.steps.push(report);
    return report;
  }

  /** Plays the scripted Azure changes through Event Grid → queue → function, one at a time. */
  async playScript(): Promise<StepReport[]> {
    const print = this.options.print;
    print('');
    print(
      bold('2. Real-time path') +
        dim(` — Azure change → Event Grid message (base64 JSON) → queue "${QUEUE_NAME}" → resourceEvents function → Port`),
    );
    print(
      dim(
        `   Resource Graph shows each change ${seconds(this.options.lagMs)} after it happens, so the function re-reads ` +
          `(delayed queue messages) until it sees it, and once more at EVENT_SETTLE_TIME (${this.options.settleTime}) after the event.`,
      ),
    );
    const script = this.buildScript();
    const reports: StepReport[] = [];
    for (const [i, step] of script.entries()) {
      if (this.interrupted) break;
      reports.push(await this.runStep(step, i + 1, script.length));
    }
    return reports;
  }

  /** Waits for the queue to empty (the function's own delayed re-checks and confirming re-reads included). */
  async settle(): Promise<void> {
    await this.host.drain({ horizonMs: this.settings.events.settleTimeMs + 15_000 });
  }

  /** Compares the whole Port catalog with the mapping of the current Azure estate, field by field. */
  compare(): CatalogComparison {
    const ids = this.blueprints;
    const expected = new Map<string, Map<string, PortEntity>>([
      [ids.subscription, new Map()],
      [ids.resourceGroup, new Map()],
      [ids.resource, new Map()],
    ]);
    for (const row of this.arg.rows()) {
      const mapped = mapRow(row, ids);
      if (mapped) expected.get(mapped.blueprint)?.set(mapped.entity.identifier, mapped.entity);
    }
    const differences: CatalogDifference[] = [];
    let total = 0;
    for (const [blueprint, wanted] of expected) {
      total += wanted.size;
      const stored = new Map(this.port.entities(blueprint).map((e) => [e.identifier, e]));
      for (const [identifier, entity] of wanted) {
        const actual = stored.get(identifier);
        if (!actual) differences.push({ blueprint, identifier, problem: 'missing' });
        else {
          const fields = entityDifferences(actual, entity);
          if (fields.length) differences.push({ blueprint, identifier, problem: 'different', fields });
        }
      }
      for (const identifier of stored.keys()) {
        if (!wanted.has(identifier)) differences.push({ blueprint, identifier, problem: 'extra' });
      }
    }
    return { ok: differences.length === 0, expected: total, differences };
  }

  /** Settles, compares, and prints the verdict. */
  async verify(): Promise<CatalogComparison> {
    const print = this.options.print;
    await this.settle();
    const result = this.compare();
    print('');
    if (result.ok) {
      print(`${green('✓')} Port matches Azure: ${result.expected} entities compared field by field.`);
    } else {
      print(`${red('✗')} Port differs from Azure in ${result.differences.length} of ${result.expected} entities:`);
      for (const d of result.differences.slice(0, 10)) {
        print(`   ${d.problem} ${d.blueprint} ${d.identifier}${d.fields ? ` (${d.fields.join(', ')})` : ''}`);
      }
    }
    return result;
  }

  /** URLs, settings and commands for exploring the running sandbox. */
  printTryNext(): void {
    const print = this.options.print;
    const ids = this.blueprints;
    const estate = this.arg.estate();
    const group = estate.resourceGroups[0]!;
    const newSite = `${group.id}/providers/Microsoft.Web/sites/app-try-me`;
    const tokenBody = JSON.stringify({ clientId: this.port.clientId, clientSecret: this.port.clientSecret });
    const search = JSON.stringify({
      query: { combinator: 'and', rules: [{ property: 'type', operator: '=', value: 'microsoft.compute/virtualmachines' }] },
      include: ['$identifier', '$title', 'properties.location'],
    });
    const change = JSON.stringify({ op: 'upsertResource', row: { id: newSite, location: String(group.location), tags: { env: 'dev' } } });
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    print('');
    print(bold('Sandbox running') + ' — press Ctrl-C to stop. Everything is on 127.0.0.1 and in memory.');
    print(`  Port emulator            ${this.port.url}  ${dim(`(client id ${this.port.clientId}, secret ${this.port.clientSecret})`)}`);
    print(`  Resource Graph emulator  ${this.arg.url}`);
    print(`  Azurite queue endpoint   http://127.0.0.1:${this.azurite.queuePort}/devstoreaccount1  ${dim(`(queue ${QUEUE_NAME})`)}`);
    print(`  AzureWebJobsStorage      ${this.azurite.connectionString}`);
    print('');
    print(bold('Try:'));
    print(dim('  # the catalog as the Port emulator holds it (inspection route, no token)'));
    print(`  curl -s ${this.port.url}/_emulator/entities/${ids.resourceGroup}`);
    print(dim('  # the same through Port\'s API: get a token, then search'));
    print(
      `  TOKEN=$(curl -s -X POST ${this.port.url}/v1/auth/access_token -H 'content-type: application/json' -d ${q(tokenBody)} | node -pe 'JSON.parse(require("fs").readFileSync(0)).accessToken')`,
    );
    print(
      `  curl -s -X POST ${this.port.url}/v1/blueprints/${ids.resource}/entities/search -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d ${q(search)}`,
    );
    print(dim('  # every request the app made to Port, and the sync state it keeps there'));
    print(`  curl -s '${this.port.url}/_emulator/requests?since=0'`);
    print(`  curl -s ${this.port.url}/_emulator/entities/${ids.state}`);
    print(dim('  # change Azure, then deliver the event the way Event Grid would; the function picks it up here'));
    print(`  curl -s -X POST ${this.arg.url}/_emulator/changes -H 'content-type: application/json' -d ${q(change)}`);
    print(`  npm run send-event -- write --resource-id ${q(newSite)} --queue ${QUEUE_NAME} --connection ${q(this.azurite.connectionString)}`);
    print(dim('  # Azure as Resource Graph sees it'));
    print(`  curl -s ${this.arg.url}/_emulator/stats`);
    if (process.stdin.isTTY) {
      print('');
      print(`Type ${bold('r')} + Enter to reconcile now (as the timer would), ${bold('f')} for a full resync, ${bold('c')} to compare Port with Azure, ${bold('q')} to quit.`);
    }
    print('');
  }

  /** Ctrl-C during the script: stop waiting for Port and play no further steps. */
  interrupt(): void {
    this.interrupted = true;
  }

  /** From now on, print each message the function processes (events sent by hand show up here). */
  goLive(): void {
    this.live = true;
  }

  /** Stops the queue listener, the app's overrides and every service (Azurite's process included). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.live = false;
    // Ctrl-C in a terminal reaches Azurite too, and storage calls to a dead Azurite only retry: don't wait them out.
    await atMost(this.host.stop(), 3_000);
    await atMost(currentRun() ?? Promise.resolve(), 3_000);
    useEventProcessor(undefined);
    useReconcileDepsFactory(undefined);
    await Promise.allSettled([this.azurite.stop(), this.port.close(), this.arg.close()]);
  }
}

export interface CliOptions extends SandboxOptions {
  /** Exit after the script and the final comparison instead of running until Ctrl-C. */
  once: boolean;
}

function wholeNumber(name: string, min: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}, got "${raw}"`);
    return n;
  };
}

export function parseCliOptions(argv: string[], env: Record<string, string | undefined> = process.env): CliOptions {
  const program = new Command('sandbox')
    .description('Run azure-port-sync locally against the Port and Resource Graph emulators and Azurite, with a scripted demo')
    .option('--subscriptions <n>', 'subscriptions in the sample estate', wholeNumber('--subscriptions', 1), DEFAULT_SANDBOX_OPTIONS.subscriptions)
    .option('--resource-groups <n>', 'resource groups in the sample estate', wholeNumber('--resource-groups', 3), DEFAULT_SANDBOX_OPTIONS.resourceGroups)
    .option('--resources <n>', 'resources in the sample estate', wholeNumber('--resources', 10), DEFAULT_SANDBOX_OPTIONS.resources)
    .option('--seed <n>', 'sample estate seed', wholeNumber('--seed', 0), DEFAULT_SANDBOX_OPTIONS.seed)
    .option('--settle <duration>', 'EVENT_SETTLE_TIME for the function', DEFAULT_SANDBOX_OPTIONS.settleTime)
    .option('--lag <ms>', 'how long Azure writes take to show in Resource Graph', wholeNumber('--lag', 0), DEFAULT_SANDBOX_OPTIONS.lagMs)
    .option('--verbose', 'print every application log line')
    .option('--once', 'exit after the script and the final check (exit code 1 if Port does not match Azure); also SANDBOX_EXIT_AFTER_SCRIPT=1')
    .exitOverride()
    .parse(argv, { from: 'user' });
  const o = program.opts<{
    subscriptions: number;
    resourceGroups: number;
    resources: number;
    seed: number;
    settle: string;
    lag: number;
    verbose?: boolean;
    once?: boolean;
  }>();
  return {
    ...DEFAULT_SANDBOX_OPTIONS,
    subscriptions: o.subscriptions,
    resourceGroups: o.resourceGroups,
    resources: o.resources,
    seed: o.seed,
    settleTime: o.settle,
    lagMs: o.lag,
    verbose: o.verbose === true,
    once: o.once === true || ['1', 'true', 'yes'].includes((env['SANDBOX_EXIT_AFTER_SCRIPT'] ?? '').toLowerCase()),
  };
}

/** Resolves on the first of SIGINT/SIGTERM or `q` on stdin; meanwhile handles the interactive keys. */
function waitForStop(sandbox: Sandbox): Promise<void> {
  return new Promise((done) => {
    const print = sandbox.options.print;
    let busy = false;
    const rl = process.stdin.isTTY ? createInterface({ input: process.stdin }) : undefined;
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      rl?.close();
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    rl?.on('line', (line) => {
      const key = line.trim().toLowerCase();
      if (key === 'q') return stop();
      if (busy || !['r', 'f', 'c'].includes(key)) return;
      busy = true;
      void (async () => {
        if (key === 'c') {
          const result = await sandbox.verify();
          if (!result.ok) print('   (events still settling? Resource Graph lags; try again, or press r)');
          return;
        }
        const summary = await sandbox.reconcile(key === 'f' ? 'full' : 'auto');
        if (!summary) print('   a run is already in progress');
        else {
          const c = summary.counts;
          print(
            `   ${summary.mode} sync (${summary.modeReason}) → ${summary.status}: created ${c.created}, updated ${c.updated}, ` +
              `unchanged ${c.unchanged}, deleted ${c.deleted} · ${summary.argQueries} Resource Graph queries, ${summary.portRequests} Port requests`,
          );
        }
      })()
        .catch((error: unknown) => print(`   ${red('failed:')} ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => {
          busy = false;
        });
    });
  });
}

export async function main(argv: string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseCliOptions(argv);
  } catch (error) {
    // commander has printed the usage problem (or --help) already.
    const code = (error as { exitCode?: number }).exitCode;
    return code === 0 ? 0 : 2;
  }
  const print = options.print;
  print(bold('azure-port-sync sandbox') + dim(' — the app against local emulators; nothing leaves 127.0.0.1'));
  print(dim('   (@azure/functions warns on stderr that it runs in test mode: expected, the functions run outside the Functions host here)'));
  let sandbox: Sandbox | undefined;
  let interrupted = false;
  // Ctrl-C during start-up or the script: finish cleanly instead of leaving Azurite behind.
  const onEarlySignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    print('Stopping after the current step… (Ctrl-C again to quit at once)');
    sandbox?.interrupt();
  };
  process.on('SIGINT', onEarlySignal);
  process.on('SIGTERM', onEarlySignal);
  try {
    sandbox = await Sandbox.start(options);
    const size = sandbox.arg.estate();
    print(
      `   Azurite, Port emulator and Resource Graph emulator up; sample estate: ${count(size.subscriptions.length, 'subscription')}, ` +
        `${count(size.resourceGroups.length, 'resource group')}, ${count(size.resources.length, 'resource')} (seed ${options.seed})`,
    );
    if (interrupted) return 130;
    const summary = await sandbox.initialReconcile();
    if (interrupted) return 130;
    const steps = await sandbox.playScript();
    if (interrupted) return 130;
    const comparison = await sandbox.verify();
    const ok = summary.status === 'succeeded' && steps.every((s) => s.ok) && comparison.ok;
    if (options.once) return ok ? 0 : 1;
    sandbox.printTryNext();
    sandbox.goLive();
    process.off('SIGINT', onEarlySignal);
    process.off('SIGTERM', onEarlySignal);
    await waitForStop(sandbox);
    print('Stopping…');
    return 0;
  } catch (error) {
    print(`${red('sandbox failed:')} ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    process.off('SIGINT', onEarlySignal);
    process.off('SIGTERM', onEarlySignal);
    await sandbox?.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
