/**
 * S6, inside the bench's child process: both emulators in-process on the virtual clock (sim.ts), the real
 * resourceEvents handler and EventProcessor as production wires them, and the change stream of workload.ts played
 * against them: each change is made in the Resource Graph emulator at its ARM time (with its drawn lag stamped on
 * it), its Event Grid event lands in the queue after its delivery delay, and Port is watched for the final state.
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_BLUEPRINT_IDS as ids, defaultBlueprints } from '../../../shared/port/blueprints.js';
import { mapRow } from '../../../shared/mapping/index.js';
import type { PortEntity } from '../../../shared/port/types.js';
import { startPortEmulator } from '../../emulators/port/server.js';
import { startResourceGraphEmulator, type ResourceGraphEmulator } from '../../emulators/resourceGraph/server.js';
import { armTypeFromId } from '../../emulators/resourceGraph/arm.js';
import { generateEstate } from '../../fixtures/estate.js';
import { readHostQueuesConfig } from '../../support/queueHost.js';
import { diffCatalog, expectedCatalog } from '../emulators.js';
import { resourceEvent, resourceNotificationEvent, toQueueMessage } from '../eventMessages.js';
import type { FreshnessJob } from '../jobs.js';
import { SimClock, SimQueue, SimTimers, percentiles } from './sim.js';
import { FreshnessTracker } from './tracker.js';
import { planFreshWorkload, type FreshChange } from './workload.js';

interface Step {
  at: number;
  run: () => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runFreshness(job: FreshnessJob): Promise<Record<string, unknown>> {
  const clock = new SimClock();
  const estate = generateEstate(job.estate);
  const { limits } = job;
  const arg = await startResourceGraphEmulator({
    estate,
    quota: { limit: limits.arg.quota, windowMs: limits.arg.windowMs },
    latencyMs: limits.arg.latencyMs,
    startTime: new Date(clock.now()),
  });
  const port = await startPortEmulator({
    rateLimit: { limit: limits.port.rateLimit, periodSeconds: Math.max(1, Math.round(limits.port.periodMs / 1000)) },
    latencyMs: limits.port.latencyMs,
    record: false,
    clock: () => new Date(clock.now()),
  });
  try {
    seedPort(port, arg);
    const env = {
      ...job.env,
      PORT_CLIENT_ID: port.clientId,
      PORT_CLIENT_SECRET: port.clientSecret,
      PORT_API_URL: port.url,
      AZURE_ARM_ENDPOINT: arg.url,
    };
    for (const [k, v] of Object.entries(env)) process.env[k] = v;
    const [{ loadSettings }, { createLogger, jsonLineSink }, handlerModule, { createEmulatorEventProcessor }] = await Promise.all([
      import('../../../shared/settings.js'),
      import('../../../shared/log.js'),
      import('../../../functions/resourceEvents.js'),
      import('../appWiring.js'),
    ]);
    const settings = loadSettings(env);
    const logger = createLogger(jsonLineSink((line) => process.stderr.write(line + '\n')), settings.logLevel);
    const tracker = new FreshnessTracker(port, ids);
    const queue = new SimQueue(handlerModule.resourceEventsHandler, readHostQueuesConfig(job.hostJsonPath), clock, () => tracker.check(clock.now()));
    const timers = new SimTimers(clock);
    const processor = await createEmulatorEventProcessor(settings, logger, { events: queue.sender(), poison: queue.poisonSender() }, { clock, timers });
    const idle = () => queue.idle && !processor.watch.busy;
    handlerModule.useEventProcessor(processor);

    const changes = planFreshWorkload(estate, job.workload);
    const start = clock.now();
    const steps: Step[] = [];
    for (const c of changes) {
      schedule(steps, c, start, arg, queue, tracker);
      if (job.notifications) notify(steps, c, start, queue);
    }
    steps.sort((a, b) => a.at - b.at);
    const lastChangeAt = start + Math.max(...changes.map((c) => c.at));
    const horizon = lastChangeAt + job.horizonMs;

    const argBase = arg.queryCount();
    const armBase = arg.arm.describe().reads;
    port.resetCounts();
    const realStart = performance.now();
    let jumpedMs = 0;
    for (;;) {
      const now = clock.now();
      while (steps.length > 0 && steps[0]!.at <= now) steps.shift()!.run();
      timers.fireDue();
      queue.startVisible();
      if (steps.length === 0 && queue.empty && idle() && timers.nextAt() === undefined) break;
      if (now > horizon) break;
      const next = Math.min(steps[0]?.at ?? Infinity, queue.nextVisibleAt() ?? Infinity, timers.nextAt() ?? Infinity);
      if (!idle()) {
        const wait = processor.watch.busy ? 10 : Math.max(0, Math.min(next - now, 1_000));
        await Promise.race([queue.anySettled(), sleep(wait)]);
        tracker.check(clock.now());
      } else if (next === Infinity) {
        break;
      } else if (next > now) {
        clock.jump(next - now);
        arg.advance(next - now);
        jumpedMs += next - now;
      }
    }
    while (!idle()) await Promise.race([queue.anySettled(), sleep(10)]);
    processor.watch.stop();
    await processor.drain();
    tracker.check(clock.now());
    const realMs = performance.now() - realStart;

    const r = tracker.result();
    const argQueries = arg.queryCount() - argBase;
    const portRequests = port.counts().total;
    const mismatch = diffCatalog(expectedCatalog(arg.estate(), ids), (bp) => port.entities(bp));
    return {
      changes: changes.length,
      samples: r.tracked,
      freshnessMs: percentiles(r.relative, r.unreached),
      freshnessAbsoluteMs: percentiles(r.absolute, r.unreached),
      sparseFreshnessMs: percentiles(r.sparseRelative, r.sparseUnreached),
      sparseFreshnessAbsoluteMs: percentiles(r.sparseAbsolute, r.sparseUnreached),
      unreached: r.unreached,
      regressions: r.regressions,
      argQueries,
      portRequests,
      armReads: arg.arm.describe().reads - armBase,
      virtualMs: clock.now() - start,
      realMs,
      jumpedMs,
      queue: { ...queue.outcomes, poisoned: queue.poison.length, recheckMessages: queue.sent.length },
      counters: processor.counters.snapshot(),
      ...(mismatch ? { mismatch } : {}),
    };
  } finally {
    await Promise.allSettled([port.close(), arg.close()]);
  }
}

function seedPort(port: Awaited<ReturnType<typeof startPortEmulator>>, arg: ResourceGraphEmulator): void {
  for (const definition of defaultBlueprints(ids)) port.seedBlueprint(definition as unknown as Record<string, unknown>);
  const byBlueprint = new Map<string, PortEntity[]>();
  for (const row of arg.rows()) {
    const mapped = mapRow(row, ids);
    if (!mapped) continue;
    byBlueprint.set(mapped.blueprint, [...(byBlueprint.get(mapped.blueprint) ?? []), mapped.entity]);
  }
  port.seed(byBlueprint);
}

/** The steps of one change: ARM writes at their times (lag stamped), its event delivered (maybe twice). */
function schedule(steps: Step[], c: FreshChange, start: number, arg: ResourceGraphEmulator, queue: SimQueue, tracker: FreshnessTracker): void {
  const at = start + c.at;
  const withLag = (lagMs: number, write: () => void) => {
    arg.setLag({ tables: { resources: lagMs, resourcecontainers: lagMs } });
    write();
  };
  if (c.kind === 'doubleUpdate') {
    steps.push({ at: at - c.firstWriteBeforeMs!, run: () => withLag(c.firstLagMs!, () => arg.upsertResource(c.intermediate!)) });
    deliver(steps, c, at - c.firstWriteBeforeMs!, 'write', queue);
  }
  steps.push({
    at,
    run: () => {
      if (c.kind === 'groupDelete') {
        const prefix = `${c.id.toLowerCase()}/`;
        const children = arg.rows().filter((r) => r.id.toLowerCase().startsWith(prefix));
        withLag(c.lagMs, () => arg.deleteResourceGroup(c.id));
        tracker.expect(c, c.id, null, at);
        for (const child of children) tracker.expect(c, child.id, null, at);
      } else if (c.kind === 'delete') {
        withLag(c.lagMs, () => arg.deleteResource(c.id));
        tracker.expect(c, c.id, null, at);
      } else {
        withLag(c.lagMs, () => arg.upsertResource(c.row!));
        tracker.expect(c, c.id, c.row!, at);
      }
    },
  });
  deliver(steps, c, at, c.kind === 'delete' || c.kind === 'groupDelete' ? 'delete' : 'write', queue);
}

function deliver(steps: Step[], c: FreshChange, at: number, kind: 'write' | 'delete', queue: SimQueue): void {
  const event = resourceEvent({ kind, resourceId: c.id, eventTime: new Date(at) });
  const text = toQueueMessage(event);
  steps.push({ at: at + c.deliveryMs, run: () => queue.add(text) });
  if (c.redeliveryMs !== undefined) steps.push({ at: at + c.deliveryMs + c.redeliveryMs, run: () => queue.add(text) });
}

/**
 * The Resource Notifications event of a resource change: emitted once Resource Graph has it (at + lag), delivered
 * like any event. CreatedOrUpdated carries the resource as ARM shapes it; groups are not covered (containers).
 */
function notify(steps: Step[], c: FreshChange, start: number, queue: SimQueue): void {
  if (c.kind === 'groupDelete') return;
  const at = start + c.at;
  const event = resourceNotificationEvent({ id: c.id, row: c.kind !== 'delete' ? c.row! : null, at: new Date(at) });
  const text = toQueueMessage(event);
  steps.push({ at: at + c.lagMs + c.deliveryMs, run: () => queue.add(text) });
}
