/**
 * One soak run: real Port and Resource Graph emulators, the real Port client, Resource Graph reader, event processor
 * and reconciliation, driven through a generated scenario on a simulated clock.
 *
 * What is simulated, and why:
 * - Time: the Resource Graph emulator's manual clock is the one clock (event times, lag, settle time, re-check
 *   delays, change windows), so minutes of Azure behaviour take milliseconds.
 * - The queue: SimQueue stands in for the storage queue and the Functions host's listener (visibility delays,
 *   dequeueCount, retry after visibilityTimeout, poison after maxDequeueCount). The processor is the production one
 *   (runtime.ts createEventProcessor), its re-check scheduler sending into SimQueue. test/soak/azurite.test.ts
 *   drives one scenario through real Azurite and test/support/queueHost.ts instead.
 * - A crash mid-reconciliation: abort through the run's AbortSignal, or a Resource Graph reader that throws after N
 *   pages (what a killed process looks like to the state it leaves behind).
 */
import { randomUUID } from 'node:crypto';
import type { ArgRow, ResourceGraphApi } from '../../shared/azure/types.js';
import { createResourceGraphReader } from '../../shared/azure/resourceGraph.js';
import { createLogger, type LogLevel, type Logger } from '../../shared/log.js';
import { DEFAULT_BLUEPRINT_IDS, type BlueprintIds } from '../../shared/port/blueprints.js';
import { PortClient } from '../../shared/port/client.js';
import { loadSettings, type Settings } from '../../shared/settings.js';
import type { EventProcessor, MessageOutcome } from '../../shared/sync/events/apply.js';
import type { QueueSender } from '../../shared/sync/events/recheck.js';
import { createEventProcessor } from '../../shared/sync/events/runtime.js';
import { runReconciliation, type RunSummary } from '../../shared/sync/reconcile/index.js';
import { startPortEmulator, type PortEmulator } from '../emulators/port/server.js';
import { startResourceGraphEmulator, staticTestCredential, type ResourceGraphEmulator } from '../emulators/resourceGraph/server.js';
import { generateEstate, prng } from '../fixtures/estate.js';
import { resourceEvent, resourceNotificationEvent, toQueueMessage } from '../bench/eventMessages.js';
import { diffCatalog, expectedCatalog } from '../bench/emulators.js';
import { shuffle } from '../bench/workload.js';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import { canonicalEntity } from '../bench/emulators.js';
import { moveEvents } from '../events/moveEvents.js';
import { LONG_TAIL_MAX_MS, MAX_LAG_MS, longTailTables, type AzureChange, type SoakScenario, type Step, type Unkind } from './model.js';

/** EVENT_SETTLE_TIME in the soak's settings: the real-time path's documented bound. */
const SETTLE_MS = 90_000;
/** host.json: maxDequeueCount 5, visibilityTimeout 30 s. */
const MAX_DEQUEUE_COUNT = 5;
const VISIBILITY_TIMEOUT_MS = 30_000;
/** Invocations the host runs at once (batchSize + newBatchThreshold). */
const HOST_CONCURRENCY = 48;
const START = new Date('2026-01-05T08:00:00Z');
/** Resources in the first group that the scenario never deletes, so the deletion guard (0.9) can never legitimately
 *  block convergence: deleting everything else still leaves more than 10% of any blueprint. */
const ANCHORS = 7;
const RECONCILE_AGENT = 'azure-port-sync-soak/reconcile';

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

interface SimMessage {
  id: string;
  text: string;
  visibleAt: number;
  dequeueCount: number;
  origin: 'event' | 'notification' | 'recheck' | 'malformed';
}

interface LedgerEntry {
  origin: SimMessage['origin'];
  status?: MessageOutcome['status'] | 'hostPoisoned';
  reason?: string;
}

/** The storage queue plus the host's listener, on the simulated clock. */
class SimQueue {
  private messages: SimMessage[] = [];
  readonly ledger = new Map<string, LedgerEntry>();
  /** Messages the host itself poisoned after maxDequeueCount failed attempts. */
  readonly poison: { messageId: string; reason: string }[] = [];

  constructor(private readonly now: () => number) {}

  add(text: string, delayMs: number, origin: SimMessage['origin']): string {
    const id = randomUUID();
    this.messages.push({ id, text, visibleAt: this.now() + delayMs, dequeueCount: 0, origin });
    this.ledger.set(id, { origin });
    return id;
  }

  /** QueueSender for the processor's re-check scheduler (visibilityTimeout in seconds, like the SDK). */
  sender(): QueueSender {
    return {
      sendMessage: async (text, options) => {
        this.add(text, (options?.visibilityTimeout ?? 0) * 1000, 'recheck');
        return {};
      },
    };
  }

  size(): number {
    return this.messages.length;
  }

  nextVisibleAt(): number | undefined {
    return this.messages.length ? Math.min(...this.messages.map((m) => m.visibleAt)) : undefined;
  }

  /** Runs every message visible now, like the host: decode base64, parse JSON, invoke, delete or retry or poison. */
  async deliverDue(processor: EventProcessor, random: () => number): Promise<void> {
    for (let round = 0; round < 50; round++) {
      const now = this.now();
      const due = shuffle(
        this.messages.filter((m) => m.visibleAt <= now),
        random,
      );
      if (due.length === 0) return;
      for (let i = 0; i < due.length; i += HOST_CONCURRENCY) {
        await Promise.all(due.slice(i, i + HOST_CONCURRENCY).map((m) => this.invoke(m, processor)));
      }
    }
    throw new InvariantViolation('the queue kept producing visible messages at one instant (50 rounds): a re-check loop');
  }

  private async invoke(message: SimMessage, processor: EventProcessor): Promise<void> {
    message.dequeueCount++;
    const text = Buffer.from(message.text, 'base64').toString('utf8');
    let payload: unknown = text;
    try {
      payload = JSON.parse(text);
    } catch {
      // the host passes non-JSON text through as a string
    }
    const entry = this.ledger.get(message.id)!;
    try {
      const outcome = await processor.handle(payload, { messageId: message.id, dequeueCount: message.dequeueCount });
      entry.status = outcome.status;
      if ('reason' in outcome) entry.reason = outcome.reason;
      this.remove(message);
    } catch (error) {
      if (message.dequeueCount >= MAX_DEQUEUE_COUNT) {
        entry.status = 'hostPoisoned';
        entry.reason = `maxDequeueCount reached: ${error instanceof Error ? error.message : String(error)}`;
        this.poison.push({ messageId: message.id, reason: entry.reason });
        this.remove(message);
      } else {
        message.visibleAt = this.now() + VISIBILITY_TIMEOUT_MS;
      }
    }
  }

  private remove(message: SimMessage): void {
    this.messages = this.messages.filter((m) => m !== message);
  }
}

/** A Resource Graph reader that dies after N pages: what a crashed run looks like from the outside. */
function crashingGraph(inner: ResourceGraphApi, afterPages: number): ResourceGraphApi {
  let pages = 0;
  const tick = () => {
    if (pages++ >= afterPages) throw new Error(`simulated crash after ${afterPages} Resource Graph pages`);
  };
  const wrap = <A extends unknown[], T>(fn: (...args: A) => AsyncIterable<T>) =>
    async function* (...args: A): AsyncIterable<T> {
      for await (const page of fn(...args)) {
        tick();
        yield page;
      }
    };
  return {
    resolveScope: (o) => inner.resolveScope(o),
    listSubscriptions: wrap(inner.listSubscriptions.bind(inner)),
    listResourceGroups: wrap(inner.listResourceGroups.bind(inner)),
    listResources: wrap(inner.listResources.bind(inner)),
    listChanges: wrap(inner.listChanges.bind(inner)),
    lookupByIds: async (ids, scope, o) => {
      tick();
      return inner.lookupByIds(ids, scope, o);
    },
    observe: async (ids, scope, o) => {
      tick();
      return inner.observe(ids, scope, o);
    },
    queryCount: () => inner.queryCount(),
  };
}

/** Changes the casing of an id the way Azure sometimes reports it: the group segment and the resource name. */
export function recase(id: string): string {
  const swapped = id.replace(/\/resourcegroups\//i, (m) => (m === '/resourceGroups/' ? '/resourcegroups/' : '/resourceGroups/'));
  const lastSlash = swapped.lastIndexOf('/');
  const nameUpper = swapped.slice(lastSlash + 1).toUpperCase();
  const name = nameUpper === swapped.slice(lastSlash + 1) ? swapped.slice(lastSlash + 1).toLowerCase() : nameUpper;
  return swapped.slice(0, lastSlash + 1) + name;
}

export interface RunLog {
  lines: string[];
}

export interface SoakRunOptions {
  /** Log level captured for the failure report. */
  logLevel?: LogLevel;
}

/** Knobs for the self-tests (which prove each invariant check can fail) and regression cases. Unset in soak runs. */
export interface SelfTestKnobs {
  /** Stamp consecutive Azure changes with the same instant (the frozen clock), as two changes can be in Azure. */
  sameInstantChanges?: boolean;
  /** Skip the final reconciliation, so divergence left by dropped events must be reported. */
  skipFinalReconcile?: boolean;
  /** Check deletions against this share instead of DELETE_THRESHOLD. */
  checkedThreshold?: number;
}

/** What a run exercised, so a green soak can show it was not green by doing nothing. */
export interface SoakStats {
  steps: Record<string, number>;
  messages: Record<SimMessage['origin'], number>;
  outcomes: Record<string, number>;
  runs: Record<string, number>;
  finalMode: Record<string, number>;
  /** The event-path check: ids checked, and ids left to reconciliation by reason (no event, dropped, lag, …). */
  eventPath: Record<string, number>;
  /** Unkind modes the scenarios ran with. */
  unkind: Record<string, number>;
}

export function emptyStats(): SoakStats {
  return { steps: {}, messages: { event: 0, notification: 0, recheck: 0, malformed: 0 }, outcomes: {}, runs: {}, finalMode: {}, eventPath: {}, unkind: {} };
}

/** The last Azure change that touched an id, and the queue messages (if any) that tell the real-time path of it. */
interface Touch {
  at: number;
  messages: string[];
  /** Set when no event tells of this change (churn under a listing, a move's new id, a subscription's state). */
  noEvent?: string;
}

const KIND_OFF: Unkind = { paging: 'keyset', maxRowsPerPage: null, churn: false, longTailLag: false, lagSeed: 1, mergeDepth: 'top-level' };

const bump = (r: Record<string, number>, k: string, by = 1) => {
  r[k] = (r[k] ?? 0) + by;
};

export class SoakWorld {
  private constructor(
    readonly port: PortEmulator,
    readonly arg: ResourceGraphEmulator,
    readonly settings: Settings,
    readonly ids: BlueprintIds,
    private readonly logger: Logger,
    readonly log: string[],
  ) {}

  static async start(options: SoakRunOptions = {}): Promise<SoakWorld> {
    const arg = await startResourceGraphEmulator({ manualClock: true, startTime: START, quota: { limit: 1_000_000, windowMs: 1000 } });
    // One clock for both services, as in production (Port's updatedAt is compared with a run's start).
    const port = await startPortEmulator({ record: true, seed: 1, clock: () => arg.now() });
    const settings = loadSettings({
      PORT_CLIENT_ID: port.clientId,
      PORT_CLIENT_SECRET: port.clientSecret,
      PORT_API_URL: port.url,
      PORT_RETRY_MAX_ATTEMPTS: '4',
      PORT_REQUEST_TIMEOUT: '5s',
      AZURE_ARM_ENDPOINT: arg.url,
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      EVENT_FLUSH_WINDOW: '2ms',
      EVENT_SETTLE_TIME: '90s',
      DELETE_THRESHOLD: '0.9',
    });
    const log: string[] = [];
    const logger = createLogger(
      (level, message, fields) => {
        log.push(`${new Date(arg.now()).toISOString()} ${level} ${message} ${JSON.stringify(fields).slice(0, 400)}`);
        if (log.length > 400) log.splice(0, log.length - 400);
      },
      options.logLevel ?? 'warn',
    );
    return new SoakWorld(port, arg, settings, DEFAULT_BLUEPRINT_IDS, logger, log);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.port.close(), this.arg.close()]);
  }

  private now = (): number => this.arg.now().getTime();
  private knobs: SelfTestKnobs = {};
  /** Per normalised id: the last change to it (reset per run). */
  private touches = new Map<string, Touch>();
  /** Per subscription (lower case): when its permissions last changed, and whether it is fully readable now. */
  private permissionChanges = new Map<string, number>();
  private access = new Map<string, 'all' | 'none' | string[]>();

  private touch(id: string, messages: string[], noEvent?: string): void {
    this.touches.set(id.toLowerCase(), { at: this.now(), messages, ...(noEvent ? { noEvent } : {}) });
  }

  private portClient(userAgent: string): PortClient {
    const p = this.settings.port;
    return new PortClient({
      userAgent,
      apiUrl: p.apiUrl,
      clientId: p.clientId,
      clientSecret: p.clientSecret,
      createMissingRelatedEntities: p.createMissingRelatedEntities,
      maxConcurrency: p.maxConcurrency,
      requestTimeoutMs: p.requestTimeoutMs,
      retryMaxAttempts: p.retryMaxAttempts,
      maxRetryTimeMs: 5_000,
      backoffBaseMs: 2,
      maxWaitMs: 20,
      logger: this.logger,
    });
  }

  private graphReader(): ResourceGraphApi {
    return createResourceGraphReader(this.settings.azure, this.logger, {
      credential: staticTestCredential(),
      retry: { maxRetries: 3, retryDelayInMs: 1, maxRetryDelayInMs: 5 },
    });
  }

  /** Runs one scenario to the end and checks the invariants; throws InvariantViolation with the details. */
  async run(scenario: SoakScenario, seed: number, knobs: SelfTestKnobs = {}, stats: SoakStats = emptyStats()): Promise<void> {
    this.knobs = knobs;
    const random = prng(seed);
    const queue = new SimQueue(this.now);
    // Two clients (two workers in production): the user agent tells the reconciliation's deletes from the events'.
    const port = this.portClient(RECONCILE_AGENT);
    const eventsPort = this.portClient('azure-port-sync-soak/events');
    const graph = this.graphReader();
    const processor = await createEventProcessor(this.settings, this.logger, {
      port: eventsPort,
      resourceGraph: graph,
      clock: { now: this.now },
      // Poisoned bodies are dropped here; the reason comes back in handle()'s outcome and lands in the ledger.
      queues: { events: queue.sender(), poison: { sendMessage: async () => ({}) } },
    });

    const anchors = this.seedEstate(scenario);
    this.touches = new Map();
    this.permissionChanges = new Map();
    this.access = new Map();
    const unkind = scenario.unkind ?? KIND_OFF;
    this.switchUnkind(unkind, anchors, random, stats);
    const runs: RunSummary[] = [];
    const reconcile = async (crash?: { how: 'abort' | 'throw'; afterPages: number }, concurrentEvents = false) => {
      const run = this.reconcileChecked(port, crash ? (crash.how === 'throw' ? crashingGraph(graph, crash.afterPages) : graph) : graph, crash);
      // Events due now are handled while the run reads and writes, as two workers would.
      const [summary] = await Promise.all([run, concurrentEvents ? queue.deliverDue(processor, random) : undefined]);
      if (summary) runs.push(summary);
      bump(stats.runs, summary ? `${summary.mode}:${summary.status}` : 'aborted');
    };

    // Start like production: a first full run over the initial estate.
    await reconcile();
    let latencySpike = false;
    for (const step of scenario.steps) {
      bump(stats.steps, step.kind === 'azure' ? `azure:${step.change.op}` : step.kind === 'portFault' ? `port:${step.fault}` : step.kind);
      await this.apply(step, queue, anchors, random);
      if (step.kind === 'portFault' && step.fault === 'latency') latencySpike = true;
      if (step.kind === 'advance') {
        if (latencySpike) this.port.setLatency(0);
        latencySpike = false;
        await this.advance(step.ms, queue, processor, random);
      }
      if (step.kind === 'reconcile') await reconcile(step.crash, step.concurrentEvents);
      await queue.deliverDue(processor, random);
    }

    // Let every event, retry and re-check run its course (faults still on, as they were when delivered).
    for (let i = 0; queue.size() > 0; i++) {
      if (i > 500) throw new InvariantViolation(`the queue never drained: ${queue.size()} messages left after 500 wake-ups`);
      const next = queue.nextVisibleAt()!;
      this.arg.setNow(new Date(Math.max(this.now(), next)));
      await queue.deliverDue(processor, random);
    }
    await processor.drain();
    this.arg.setPageHook(undefined);

    // Invariant: every message was applied (or acknowledged with a reason) or poisoned with a reason.
    for (const [id, entry] of queue.ledger) {
      bump(stats.messages, entry.origin);
      bump(stats.outcomes, entry.status ?? 'none');
      if (entry.status === undefined) throw new InvariantViolation(`message ${id} (${entry.origin}) was never completed`);
      if ((entry.status === 'poisoned' || entry.status === 'hostPoisoned') && !entry.reason) {
        throw new InvariantViolation(`message ${id} was poisoned without a reason`);
      }
      if (entry.origin === 'malformed' && entry.status !== 'poisoned') {
        throw new InvariantViolation(`malformed message ${id} ended as ${entry.status}, not in the poison queue`);
      }
    }

    // The real-time path alone, before any final reconciliation could hide what it left behind.
    this.checkEventPath(queue, stats);

    // Faults off, Reader everywhere, every change older than the largest lag; then one reconciliation must make
    // Port exact.
    this.port.clearFaults();
    this.port.setLatency(0);
    this.arg.setReadableSubscriptions(undefined);
    await this.drainInjectedArgFailures(graph);
    this.arg.advance((unkind.longTailLag ? LONG_TAIL_MAX_MS : MAX_LAG_MS) + 1_000);
    // Churn under a listing can skip a row in a way no count shows (one row deleted before the offset, another
    // created after it). No change record names the skipped row, so only a full sync restores it: the documented
    // repair, which the final run is then.
    let final = this.knobs.skipFinalReconcile ? undefined : await this.reconcileChecked(port, graph, undefined, unkind.churn ? 'full' : 'auto');
    // A full sync whose listing shifted under it (churn, offset paging) is retried with backoff, as documented:
    // the timer's next tick at or after the retry time runs it, so the soak does the same before judging.
    for (let retry = 0; final && retry < 3; retry++) {
      const retryAt = this.pendingFullSyncAt();
      if (retryAt === undefined) break;
      bump(stats.finalMode, 'full retried');
      this.arg.setNow(new Date(Math.max(this.now(), retryAt) + 1_000));
      final = await this.reconcileChecked(port, graph);
    }
    if (final) bump(stats.finalMode, final.mode);
    const mismatch = diffCatalog(expectedCatalog(this.arg.estate(), this.ids), (bp) => this.port.entities(bp));
    if (mismatch) {
      throw new InvariantViolation(
        `after the final reconciliation (${final?.mode}, ${final?.status}${final?.deletionSkippedReason ? `, deletion skipped: ${final.deletionSkippedReason}` : ''}) Port differs from the estate: ${mismatch}`,
      );
    }
    if (final && final.status !== 'succeeded') {
      throw new InvariantViolation(`the final reconciliation with faults off did not succeed: ${final.status} ${final.error ?? final.incompleteReasons.join('; ')}`);
    }
  }

  /** When the state entity says a failed or incomplete full sync is to be retried, or undefined. */
  private pendingFullSyncAt(): number | undefined {
    const states = this.port.entities(this.settings.port.blueprints.state);
    const at = states.map((e) => e.properties?.['fullSyncRetryAt']).find((v): v is string => typeof v === 'string');
    return at === undefined ? undefined : Date.parse(at);
  }

  /** The emulator has no way to withdraw injected 429s, so spend any left over before the final, fault-free run. */
  private async drainInjectedArgFailures(graph: ResourceGraphApi): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await graph.resolveScope();
        return;
      } catch (error) {
        if (attempt >= 10) throw error;
      }
    }
  }

  /** Loads the generated estate (plus anchors) into Resource Graph; returns the anchor ids (normalised). */
  private seedEstate(scenario: SoakScenario): Set<string> {
    const e = generateEstate(scenario.estate);
    const keeper = e.resourceGroups[0]!;
    const anchors: ArgRow[] = Array.from({ length: ANCHORS }, (_, i) => ({
      id: `${keeper.id}/providers/Microsoft.KeyVault/vaults/anchor-${i}`,
      name: `anchor-${i}`,
      type: 'microsoft.keyvault/vaults',
      location: keeper.location ?? 'westeurope',
      resourceGroup: keeper.name ?? null,
      subscriptionId: keeper.subscriptionId ?? null,
      tenantId: keeper.tenantId ?? null,
      tags: { anchor: 'true' },
      provisioningState: 'Succeeded',
    }));
    this.arg.seed({ subscriptions: e.subscriptions, resourceGroups: e.resourceGroups, resources: [...e.resources, ...anchors] });
    return new Set(anchors.map((a) => a.id.toLowerCase()));
  }

  private liveResources(anchors: Set<string>): ArgRow[] {
    return this.arg
      .estate()
      .resources.filter((r) => !anchors.has(r.id.toLowerCase()))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  private liveGroups(): ArgRow[] {
    return [...this.arg.estate().resourceGroups].sort((a, b) => a.id.localeCompare(b.id));
  }

  private async apply(step: Step, queue: SimQueue, anchors: Set<string>, random: () => number): Promise<void> {
    switch (step.kind) {
      case 'azure':
        return this.applyAzure(step.change, step.deliveries, queue, anchors);
      case 'malformed': {
        const bodies: Record<typeof step.body, unknown> = {
          notJson: 'this is not an event',
          noResourceUri: { ...resourceEvent({ kind: 'write', resourceId: '/subscriptions/00000000-0000-0000-0000-000000000001' }), data: {} },
          notArmId: resourceEvent({ kind: 'write', resourceId: 'https://example.com/not-an-arm-id' }),
          wrongSchema: { hello: 'world', eventType: 42 },
        };
        const body = bodies[step.body];
        queue.add(typeof body === 'string' ? Buffer.from(body).toString('base64') : toQueueMessage(body as Record<string, unknown>), 0, 'malformed');
        return;
      }
      case 'advance':
      case 'reconcile':
        return;
      case 'portFault':
        switch (step.fault) {
          case '5xx':
            return this.port.setFaults({ next: [{ status: 503, count: step.count }] });
          case '429':
            return this.port.setFaults({
              next: [{ status: 429, count: step.count, retryAfterSeconds: 0, rateLimitHeader: random() < 0.5 ? 'retry-after' : 'reset-delta' }],
            });
          case 'tokenExpiry':
            return this.port.revokeTokens();
          case 'latency':
            return this.port.setLatency(60);
          case '413':
            return this.port.setFaults({ next: [{ status: 413, count: step.count, route: /\/entities\/bulk$/ }] });
          case 'drop':
            return this.port.setFaults({ next: [{ drop: true, count: step.count }] });
        }
        return;
      case 'argLag':
        return this.arg.setLag({ resourcesMs: step.resourcesMs, changesMs: step.changesMs });
      case 'argThrottle':
        return this.arg.failNext(step.count, 429, { retryAfterSeconds: 0 });
      case 'permission':
        return this.changePermission(step);
    }
  }

  private changePermission(step: Extract<Step, { kind: 'permission' }>): void {
    const subscriptions = this.arg.estate().subscriptions.map((s) => s.subscriptionId!).sort();
    const sub = subscriptions[step.subscription % subscriptions.length];
    if (!sub) return;
    const key = sub.toLowerCase();
    if (step.op === 'revoke') {
      this.arg.revokeSubscriptions([sub]);
      this.access.set(key, 'none');
    } else if (step.op === 'grant') {
      this.arg.grantSubscriptions([sub]);
      this.access.set(key, 'all');
    } else {
      const groups = this.liveGroups().filter((g) => g.subscriptionId?.toLowerCase() === key);
      const g = groups[step.group % Math.max(1, groups.length)];
      if (!g?.name) return;
      this.arg.grantResourceGroups(sub, [g.name]);
      this.access.set(key, [g.name.toLowerCase()]);
    }
    this.permissionChanges.set(key, this.now());
  }

  /** The scenario's unkind modes: paging, churn under listings, per-table long-tail lag, Port's merge depth. */
  private switchUnkind(unkind: Unkind, anchors: Set<string>, random: () => number, stats: SoakStats): void {
    bump(stats.unkind, `paging:${unkind.paging}${unkind.maxRowsPerPage ? `/${unkind.maxRowsPerPage}` : ''}`);
    bump(stats.unkind, `lag:${unkind.longTailLag ? 'longTail' : 'shortcut'}`);
    bump(stats.unkind, `merge:${unkind.mergeDepth}`);
    if (unkind.churn) bump(stats.unkind, 'churn');
    this.arg.setPaging({ mode: unkind.paging, maxRowsPerPage: unkind.maxRowsPerPage });
    this.port.setMergeDepth(unkind.mergeDepth);
    this.arg.setLag(
      unkind.longTailLag
        ? { resourcesMs: 0, changesMs: 0, tables: longTailTables(unkind.lagSeed) }
        : { resourcesMs: 0, changesMs: 0, tables: { resources: null, resourcecontainers: null, resourcechanges: null, resourcecontainerchanges: null } },
    );
    if (!unkind.churn) return this.arg.setPageHook(undefined);
    // Azure changing under a paged listing (no events for these: only reconciliation can learn of them).
    let churned = 0;
    this.arg.setPageHook(({ table, page }) => {
      if (table !== 'resources' || page < 2 || churned >= 6 || random() < 0.5) return;
      churned++;
      const resources = this.liveResources(anchors);
      if (random() < 0.5 && resources.length > 0) {
        const r = resources[Math.floor(random() * resources.length)]!;
        this.arg.deleteResource(r.id);
        this.touch(r.id, [], 'churn');
      } else {
        const groups = this.liveGroups();
        const g = groups[Math.floor(random() * groups.length)];
        if (!g) return;
        const name = `churn-${Math.floor(random() * 1e6)}`;
        const id = `${g.id}/providers/Microsoft.Web/sites/${name}`;
        this.arg.upsertResource({ ...webSite(g, name), id });
        this.touch(id, [], 'churn');
      }
    });
  }

  /**
   * The real-time path judged on its own (issue #10 §4): for every id whose last change was told by an event that
   * was delivered and not poisoned, Port must equal the mapping of Azure's state once the queue has drained (every
   * re-check done, so within EVENT_SETTLE_TIME of the event), provided Resource Graph showed that state within the
   * settle time and the id's subscription was readable all along. Every id left out is counted by reason.
   */
  private checkEventPath(queue: SimQueue, stats: SoakStats): void {
    const expected = expectedCatalog(this.arg.estate(), this.ids);
    const blueprints = [this.ids.subscription, this.ids.resourceGroup, this.ids.resource];
    const actual = new Map(blueprints.map((bp) => [bp, new Map(this.port.entities(bp).map((e) => [e.identifier, canonicalEntity(e)]))]));
    const problems: string[] = [];
    for (const [id, touch] of this.touches) {
      const skip = this.eventPathSkip(id, touch, queue);
      if (skip) {
        bump(stats.eventPath, `left to reconciliation: ${skip}`);
        continue;
      }
      bump(stats.eventPath, 'checked');
      const identifier = toPortIdentifier(id);
      const blueprint = blueprintOf(id, this.ids);
      const want = expected.get(blueprint)?.get(identifier);
      const have = actual.get(blueprint)?.get(identifier);
      if (want !== have) problems.push(`${id} (changed at ${new Date(touch.at).toISOString()}): want ${want ?? 'absent'}, have ${have ?? 'absent'}`);
    }
    if (problems.length > 0) {
      throw new InvariantViolation(`the real-time path left ${problems.length} id(s) unlike Azure after the settle time: ${problems.slice(0, 3).join('; ')}`);
    }
  }

  private eventPathSkip(id: string, touch: Touch, queue: SimQueue): string | undefined {
    if (touch.noEvent) return `no event (${touch.noEvent})`;
    if (touch.messages.length === 0) return 'event dropped';
    const done = touch.messages.map((m) => queue.ledger.get(m)?.status);
    if (!done.some((status) => status !== undefined && status !== 'poisoned' && status !== 'hostPoisoned')) return 'event poisoned';
    const sub = /^\/subscriptions\/([^/]+)/.exec(id)?.[1];
    const changed = sub === undefined ? undefined : this.permissionChanges.get(sub);
    if (changed !== undefined && changed >= touch.at - SETTLE_MS) return 'permissions changed';
    const access = sub === undefined ? 'all' : (this.access.get(sub) ?? 'all');
    const group = /^\/subscriptions\/[^/]+\/resourcegroups\/([^/]+)/.exec(id)?.[1];
    if (access === 'none' || (Array.isArray(access) && (group === undefined || !access.includes(group)))) return 'subscription not readable';
    // Reader on one group only: the group's own row is the only witness, so once the group is gone nothing under
    // it can be proven absent (never deleted without proof; reconciliation with Reader back repairs it).
    if (Array.isArray(access) && !this.arg.estate().resourceGroups.some((g) => g.id.toLowerCase() === `/subscriptions/${sub}/resourcegroups/${group}`)) {
      return 'group-only Reader on a deleted group';
    }
    // A container's state includes its children's: a group is deleted only once they are gone (convergence core).
    const children = blueprintOf(id, this.ids) === this.ids.resource ? [] : [...this.touches.keys()].filter((k) => k.startsWith(`${id}/`));
    const visibleAt = Math.max(...[id, ...children].map((k) => this.arg.visibleAt(k)?.getTime() ?? -Infinity));
    if (visibleAt > touch.at + SETTLE_MS) return 'Resource Graph lag beyond the settle time';
    return undefined;
  }

  private applyAzure(change: AzureChange, deliveries: { delayMs: number }[], queue: SimQueue, anchors: Set<string>): void {
    /** `at`: when that operation happened, when it is not the step's last instant (an event carries its own time). */
    const events: { kind: 'write' | 'delete' | 'move'; id: string; covers?: string[]; at?: Date }[] = [];
    /** Ids changed with no event telling of them. */
    const silent: string[] = [];
    const resources = this.liveResources(anchors);
    const groups = this.liveGroups();
    switch (change.op) {
      case 'create': {
        if (groups.length === 0) return;
        const g = groups[change.group % groups.length]!;
        const id = `${g.id}/providers/Microsoft.Web/sites/${change.name}`;
        this.arg.upsertResource({ ...webSite(g, change.name), id });
        events.push({ kind: 'write', id });
        break;
      }
      case 'update': {
        if (resources.length === 0) return;
        const r = resources[change.resource % resources.length]!;
        this.arg.upsertResource({ ...r, tags: { ...(r.tags ?? {}), soak: change.tag } });
        events.push({ kind: 'write', id: r.id });
        break;
      }
      case 'delete': {
        if (resources.length === 0) return;
        const r = resources[change.resource % resources.length]!;
        this.arg.deleteResource(r.id);
        events.push({ kind: 'delete', id: r.id });
        break;
      }
      case 'deleteGroup': {
        // The first group holds the anchors and is never deleted.
        const candidates = groups.filter((g) => !anchors.has(`${g.id.toLowerCase()}/providers/microsoft.keyvault/vaults/anchor-0`));
        if (candidates.length === 0) return;
        const g = candidates[change.group % candidates.length]!;
        const children = resources.filter((r) => r.id.toLowerCase().startsWith(`${g.id.toLowerCase()}/`));
        this.arg.deleteResourceGroup(g.id);
        events.push({ kind: 'delete', id: g.id, covers: [g.id, ...children.map((c) => c.id)] });
        if (change.childEvents) for (const c of children) events.push({ kind: 'delete', id: c.id });
        break;
      }
      case 'recreateCased': {
        if (resources.length === 0) return;
        const r = resources[change.resource % resources.length]!;
        this.arg.deleteResource(r.id);
        const deletedAt = new Date(this.now());
        if (!this.knobs.sameInstantChanges) this.arg.advance(1);
        const id = recase(r.id);
        this.arg.upsertResource({ ...r, id, name: id.slice(id.lastIndexOf('/') + 1) });
        events.push({ kind: 'delete', id: r.id, at: deletedAt }, { kind: 'write', id });
        break;
      }
      case 'tagGroup': {
        if (groups.length === 0) return;
        const g = groups[change.group % groups.length]!;
        this.arg.upsertResourceGroup({ ...g, tags: { ...(g.tags ?? {}), soak: change.tag } });
        events.push({ kind: 'write', id: g.id });
        break;
      }
      case 'clearFields': {
        if (resources.length === 0) return;
        const r = resources[change.resource % resources.length]!;
        const { kind: _kind, sku: _sku, managedBy: _managedBy, tags: _tags, ...rest } = r;
        this.arg.upsertResource({ ...rest, kind: null, sku: null, managedBy: null, tags: {} });
        events.push({ kind: 'write', id: r.id });
        break;
      }
      case 'move': {
        // Top-level resources only (ARM moves children with their parent); never the anchors.
        const source = groups[change.group % Math.max(1, groups.length)];
        const targets = groups.filter((g) => g !== source);
        const target = targets[change.target % Math.max(1, targets.length)];
        if (!source || !target) return;
        const movable = resources.filter((r) => r.id.toLowerCase().startsWith(`${source.id.toLowerCase()}/providers/`) && r.id.split('/').length === 9);
        const moved = movable.slice(0, change.count);
        if (moved.length === 0) return;
        let pairs: { from: string; to: string }[];
        try {
          pairs = this.arg.moveResources(source.id, moved.map((r) => r.id), target.id);
        } catch {
          return; // ARM refuses too (a resource of that name exists in the target): nothing moved, no event
        }
        events.push({ kind: 'move', id: source.id, covers: pairs.map((p) => p.from) });
        silent.push(...pairs.map((p) => p.to));
        break;
      }
      case 'subscriptionState': {
        const subs = [...this.arg.estate().subscriptions].sort((a, b) => a.id.localeCompare(b.id));
        const sub = subs[change.subscription % Math.max(1, subs.length)];
        if (!sub) return;
        this.arg.upsertSubscription({ ...sub, state: change.state });
        silent.push(sub.id);
        break;
      }
    }
    const eventTime = new Date(this.now());
    for (const id of silent) this.touch(id, [], 'none published');
    const covered = new Map<string, string[]>();
    for (const e of events) {
      const at = e.at ?? eventTime;
      const event = e.kind === 'move' ? moveEvents({ sourceResourceGroup: e.id, eventTime: at })[0]! : resourceEvent({ kind: e.kind, resourceId: e.id, eventTime: at });
      const messages = deliveries.map((d) => queue.add(toQueueMessage(event), d.delayMs, 'event'));
      if (e.kind !== 'move' && blueprintOf(e.id.toLowerCase(), this.ids) === this.ids.resource) messages.push(...this.notify(e.id, deliveries, queue));
      for (const id of e.covers ?? [e.id]) covered.set(id.toLowerCase(), [...(covered.get(id.toLowerCase()) ?? []), ...messages]);
    }
    for (const [id, messages] of covered) this.touch(id, messages);
    // Distinct operations get distinct timestamps in Azure; with a frozen clock they would tie (see regressions).
    if (!this.knobs.sameInstantChanges) this.arg.advance(1);
  }

  /** Resource Notifications for a resource change, as ARN emits them: once Resource Graph shows the change. */
  private notify(id: string, deliveries: { delayMs: number; notification?: boolean }[], queue: SimQueue): string[] {
    const wanted = deliveries.filter((d) => d.notification);
    if (wanted.length === 0) return [];
    const row = this.arg.estate().resources.find((r) => r.id.toLowerCase() === id.toLowerCase()) ?? null;
    const event = resourceNotificationEvent({ id: row?.id ?? id, row, at: new Date(this.now()) });
    const shownIn = Math.max(0, (this.arg.visibleAt(id)?.getTime() ?? this.now()) - this.now());
    return wanted.map((d) => queue.add(toQueueMessage(event), shownIn + d.delayMs, 'notification'));
  }

  private async advance(ms: number, queue: SimQueue, processor: EventProcessor, random: () => number): Promise<void> {
    const target = this.now() + ms;
    for (;;) {
      const next = queue.nextVisibleAt();
      if (next === undefined || next > target) break;
      this.arg.setNow(new Date(Math.max(this.now(), next)));
      await queue.deliverDue(processor, random);
    }
    this.arg.setNow(new Date(target));
  }

  /** One reconciliation run; checks it deleted no more than the threshold allows. */
  private async reconcileChecked(
    port: PortClient,
    graph: ResourceGraphApi,
    crash?: { how: 'abort' | 'throw'; afterPages: number },
    mode: 'auto' | 'full' = 'auto',
  ): Promise<RunSummary | undefined> {
    const threshold = this.knobs.checkedThreshold ?? this.settings.reconcile.deleteThreshold;
    const before = new Map([this.ids.subscription, this.ids.resourceGroup, this.ids.resource].map((bp) => [bp, this.port.entities(bp).length]));
    const firstSeq = this.port.requests.length;
    const controller = new AbortController();
    let pages = 0;
    let summary: RunSummary | undefined;
    try {
      summary = await runReconciliation(
        {
          port,
          graph,
          settings: this.settings,
          logger: this.logger,
          now: () => this.arg.now(),
          ...(crash?.how === 'abort'
            ? {
                onProgress: () => {
                  if (pages++ >= crash.afterPages) controller.abort(new Error(`simulated crash after ${crash.afterPages} progress reports`));
                },
              }
            : {}),
        },
        { abortSignal: controller.signal, trigger: 'soak', mode },
      );
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
    const deleted = new Map<string, number>();
    for (const r of this.port.requests.slice(firstSeq)) {
      if (r.kind !== 'delete' || r.status >= 300 || r.requestHeaders['user-agent'] !== RECONCILE_AGENT) continue;
      const bp = /^\/v1\/blueprints\/([^/]+)\//.exec(r.path)?.[1];
      if (!bp) continue;
      const n = r.method === 'DELETE' ? 1 : ((r.body as { entities?: unknown[] })?.entities?.length ?? 0);
      deleted.set(bp, (deleted.get(bp) ?? 0) + n);
    }
    for (const [bp, n] of deleted) {
      const atStart = before.get(bp);
      if (atStart === undefined) continue;
      if (n > threshold * atStart + 1e-9) {
        throw new InvariantViolation(`a reconciliation deleted ${n} of ${atStart} ${bp} entities, more than the threshold ${threshold} allows`);
      }
    }
    return summary;
  }
}

/** A Microsoft.Web/sites row in group `g` (the soak's created resources). */
function webSite(g: ArgRow, name: string): ArgRow {
  return {
    id: `${g.id}/providers/Microsoft.Web/sites/${name}`,
    name,
    type: 'microsoft.web/sites',
    kind: 'app',
    location: g.location ?? 'westeurope',
    resourceGroup: g.name ?? null,
    subscriptionId: g.subscriptionId ?? null,
    tenantId: g.tenantId ?? null,
    tags: { created: 'soak' },
    provisioningState: 'Succeeded',
  };
}

/** The default mapping's blueprint for an id, by its shape. */
function blueprintOf(id: string, ids: BlueprintIds): string {
  const segments = id.split('/').filter(Boolean);
  if (segments.length === 2) return ids.subscription;
  if (segments.length === 4 && segments[2]!.toLowerCase() === 'resourcegroups') return ids.resourceGroup;
  return ids.resource;
}
