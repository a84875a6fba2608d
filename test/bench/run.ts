/**
 * The bench orchestrator: emulators (and Azurite) run here, the application runs in child processes
 * (childProcess.ts), so each scenario's peak RSS is the application's own.
 *
 * Scenarios run in order on one estate: S1 fills an empty Port, S2 repeats with nothing changed, S3 applies a
 * change set and runs a windowed sync, S4 pushes an event burst through Azurite and the queue handler, S5 times
 * importing the compiled function entry files in fresh processes.
 *
 * Every scenario is also checked for correctness (Port must equal the mapping of the emulator's estate), because a
 * fast wrong answer is not a result. A mismatch is reported as an INCORRECT note and fails the run.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { HOST_JSON, REPO_ROOT } from './paths.js';
import { lowerBound, ratioToBound, type Work } from './bound.js';
import { scaled, type BenchConfig, type ScenarioName } from './config.js';
import { eventWork, fullSyncWork, windowedWork } from './work.js';
import { runInChild, type ChildOptions } from './childProcess.js';
import type { AppEnv, AppResult, EventsJob } from './jobs.js';
import { machine, type BenchReport, type PortRequestReport, type ScenarioNotes, type ScenarioReport } from './report.js';
import { defaultMix, planChanges, shuffle, changeCount, type ChangeSet } from './workload.js';
import { prng } from '../fixtures/estate.js';
import { resourceEvent, toQueueMessage } from './eventMessages.js';
import { startBenchEmulators, type BenchEmulators, type BenchQueue } from './emulators.js';
import { describeSpec } from './freshness/workload.js';
import type { FreshnessReport } from './report.js';

/** What the CI test asserts on besides the report: deterministic counts per scenario. */
export interface ScenarioDetail {
  bulkUpsertsByBlueprint: Record<string, number>;
  /** Requests the perfect client of bound.ts would send. */
  perfectPortRequests: number;
  perfectArgQueries: number;
  /** Estate size when the scenario ran. */
  estate: { subscriptions: number; resourceGroups: number; resources: number };
  changeSet?: ChangeSet;
  mismatch?: string;
  app?: Record<string, unknown>;
  /** S4: messages left in the events and poison queues after the drain. */
  leftover?: { main: number; poison: number };
}

export interface BenchResult {
  report: BenchReport;
  notes: ScenarioNotes[];
  details: Record<string, ScenarioDetail>;
}

function appEnv(emulators: BenchEmulators, config: BenchConfig, extra: AppEnv = {}): AppEnv {
  return {
    PORT_CLIENT_ID: emulators.port.clientId,
    PORT_CLIENT_SECRET: emulators.port.clientSecret,
    PORT_API_URL: emulators.port.url,
    PORT_MAX_CONCURRENCY: String(config.limits.port.concurrency),
    AZURE_ARM_ENDPOINT: emulators.arg.url,
    ARG_MAX_CONCURRENCY: String(config.limits.arg.concurrency),
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    EVENT_SETTLE_TIME: config.eventSettleTime,
    EVENT_FLUSH_WINDOW: config.eventFlushWindow,
    LOG_LEVEL: config.verbose ? 'info' : 'warn',
    ...(config.subscriptionBatchSize !== undefined ? { SUBSCRIPTION_BATCH_SIZE: String(config.subscriptionBatchSize) } : {}),
    ...extra,
  };
}

function childOptions(config: BenchConfig, name: string): ChildOptions {
  const execArgv = [...(config.appNodeFlags ?? [])];
  if (config.cpuProfileDir) {
    mkdirSync(config.cpuProfileDir, { recursive: true });
    execArgv.push('--cpu-prof', `--cpu-prof-dir=${config.cpuProfileDir}`, `--cpu-prof-name=${name}.cpuprofile`);
  }
  return { runtime: config.appRuntime, verbose: config.verbose ?? false, execArgv };
}

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

function portReport(counts: PortRequestReport): PortRequestReport {
  const { total, bulkUpsert, search, delete: del, token, other } = counts;
  return { total, bulkUpsert, search, delete: del, token, other };
}

function scenarioReport(
  name: string,
  resources: number,
  app: AppResult,
  work: Work | undefined,
  emulators: BenchEmulators,
  extra: Partial<ScenarioReport> = {},
): { report: ScenarioReport; boundNote: string; detail: ScenarioDetail } {
  const bound = work ? lowerBound(work, emulators.limits) : undefined;
  const boundMs = bound?.boundMs ?? 0;
  const report: ScenarioReport = {
    name,
    resources,
    wallMs: app.wallMs,
    boundMs,
    ratioToBound: ratioToBound(app.wallMs, boundMs),
    argQueries: emulators.arg.queryCount(),
    portRequests: portReport(emulators.port.counts()),
    portWrites: emulators.catalogWrites(),
    peakRssMb: app.peakRssMb,
    events: null,
    eventsPerSecond: null,
    ...extra,
  };
  const boundNote = bound
    ? `bound ${(boundMs / 1000).toFixed(2)} s set by ${bound.limitedBy} (perfect client: ${bound.argQueries} ARG queries → ${(bound.argMs / 1000).toFixed(2)} s; ${bound.portRequests} Port requests → ${(bound.portMs / 1000).toFixed(2)} s)`
    : 'no configured cost bounds this scenario';
  const detail: ScenarioDetail = {
    bulkUpsertsByBlueprint: emulators.bulkUpsertsByBlueprint(),
    perfectPortRequests: bound?.portRequests ?? 0,
    perfectArgQueries: bound?.argQueries ?? 0,
    estate: emulators.estateSize(),
    app: app.detail,
  };
  return { report, boundNote, detail };
}

async function coldStart(config: BenchConfig): Promise<{ wallMs: number; peakRssMb: number; files: number; runs: number[] }> {
  if (!existsSync(config.distFunctionsDir)) {
    throw new Error(`S5 needs the compiled function entry files in ${config.distFunctionsDir}: run npm run build first (npm run bench does)`);
  }
  const files = readdirSync(config.distFunctionsDir)
    .filter((f) => f.endsWith('.js'))
    .map((f) => path.join(config.distFunctionsDir, f));
  if (files.length === 0) throw new Error(`S5: no compiled function entry files in ${config.distFunctionsDir}`);
  const script =
    'const files = JSON.parse(process.argv[1]);' +
    'const t = performance.now();' +
    "for (const f of files) await import(require('node:url').pathToFileURL(f).href);" +
    'const ms = performance.now() - t;' +
    "process.stdout.write('\\n' + JSON.stringify({ ms, rssMb: process.resourceUsage().maxRSS / 1024 }));";
  const runs: { ms: number; rssMb: number }[] = [];
  for (let i = 0; i < config.coldStartRuns; i++) {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--input-type=commonjs', '-e', `(async () => { ${script} })().catch((e) => { console.error(e); process.exit(1); })`, JSON.stringify(files)],
        { cwd: REPO_ROOT, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`S5 import failed (${code}): ${stderr.slice(-2000)}`))));
    });
    const last = out.trim().split('\n').pop()!;
    runs.push(JSON.parse(last) as { ms: number; rssMb: number });
  }
  const sorted = [...runs].sort((a, b) => a.ms - b.ms);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return { wallMs: median.ms, peakRssMb: Math.max(...runs.map((r) => r.rssMb)), files: files.length, runs: runs.map((r) => r.ms) };
}

export async function runBench(config: BenchConfig): Promise<BenchResult> {
  const progress = config.progress ?? (() => {});
  const sizes = scaled(config);
  const wants = (s: ScenarioName) => config.scenarios.includes(s);
  const scenarios: ScenarioReport[] = [];
  const notes: ScenarioNotes[] = [];
  const details: Record<string, ScenarioDetail> = {};
  const note = (name: string, lines: string[]) => notes.push({ name, lines });

  const needsEmulators = config.scenarios.some((s) => s !== 'S5' && s !== 'S6');
  let emulators: BenchEmulators | undefined;
  try {
    if (needsEmulators) {
      progress(`starting emulators and generating ${sizes.resources} resources in ${sizes.resourceGroups} groups across ${sizes.subscriptions} subscriptions`);
      emulators = await startBenchEmulators({ ...sizes, seed: config.seed, limits: config.limits });
    }
    const emu = emulators;
    const sizeOf = () => emu!.estateSize();

    const reconcileScenario = async (name: ScenarioName, mode: 'full' | 'window', work: () => Work, lines: string[] = [], changeSet?: ChangeSet) => {
      emu!.resetCounts();
      progress(`${name}: ${mode} reconciliation of ${sizeOf().resources} resources`);
      const emulatorCpu = process.cpuUsage();
      const app = await runInChild({ kind: 'reconcile', env: appEnv(emu!, config), mode }, childOptions(config, name));
      const emulatorCpuMs = cpuMs(process.cpuUsage(emulatorCpu));
      const { report, boundNote, detail } = scenarioReport(name, sizeOf().resources, app, work(), emu!);
      scenarios.push(report);
      const mismatch = emu!.catalogMismatch();
      const summary = app.detail.summary as { status?: string; mode?: string; error?: string } | undefined;
      details[name] = { ...detail, ...(changeSet ? { changeSet } : {}), ...(mismatch ? { mismatch } : {}) };
      const runProblem =
        summary?.status === 'succeeded' && summary.mode === mode
          ? []
          : [`INCORRECT: the ${mode} run ended ${summary?.mode ?? '?'}/${summary?.status ?? '?'}${summary?.error ? `: ${summary.error}` : ''}`];
      const activity = emu!.portActivity();
      const activityNote = `app CPU ${(app.cpuMs / 1000).toFixed(1)} s of ${(app.wallMs / 1000).toFixed(1)} s wall, emulators ${(emulatorCpuMs / 1000).toFixed(1)} s; Port kept ${activity.avgInFlight.toFixed(1)} requests in flight on average over ${(activity.spanMs / 1000).toFixed(1)} s (configured concurrency ${config.limits.port.concurrency})${activity.firstWriteAtMs !== undefined ? `; first write ${(activity.firstWriteAtMs / 1000).toFixed(1)} s after the first request` : ''}`;
      note(name, [boundNote, activityNote, ...lines, ...runProblem, ...(mismatch ? [`INCORRECT: Port differs from the estate after the run: ${mismatch}`] : [])]);
      progress(`${name}: ${(report.wallMs / 1000).toFixed(2)} s, ${report.portRequests.total} Port requests, ${report.argQueries} ARG queries`);
    };

    if (wants('S1')) {
      const s = sizeOf();
      await reconcileScenario('S1', 'full', () =>
        fullSyncWork(s, [0, 0, 0], [s.subscriptions, s.resourceGroups, s.resources], config.limits.arg.pageSize),
      );
    }
    if (wants('S2')) {
      if (!wants('S1')) await emu!.syncPortToEstate();
      const s = sizeOf();
      await reconcileScenario('S2', 'full', () =>
        fullSyncWork(s, [s.subscriptions, s.resourceGroups, s.resources], [0, 0, 0], config.limits.arg.pageSize),
      );
    }
    if (wants('S3')) {
      if (!wants('S1') && !wants('S2')) {
        await emu!.syncPortToEstate();
        await runInChild({ kind: 'reconcile', env: appEnv(emu!, config), mode: 'full' }, childOptions(config, 'S3-setup'));
      }
      const set = planChanges(emu!.estate(), defaultMix(sizes.changes), config.seed + 3);
      emu!.applyChanges(set);
      await reconcileScenario('S3', 'window', () => windowedWork(set), [
        `${changeCount(set)} changes: ${set.updates.length} updates, ${set.creates.length} creates, ${set.deletes.length} deletes, ${set.groupDeletes.length} group deletes (taking ${set.cascadedResourceDeletes} resources with them)`,
      ], set);
    }
    const eventBurst = async (name: string, transport: 'azurite' | 'memory', events: number, seed: number) => {
      const mix = { updates: Math.round(events * 0.6), creates: Math.round(events * 0.25), groupDeletes: 0, deletes: 0 };
      mix.deletes = Math.max(0, events - mix.updates - mix.creates);
      const set = planChanges(emu!.estate(), mix, seed);
      emu!.applyChanges(set);
      const eventTime = new Date();
      const burst = [
        ...set.updates.map((r) => ({ kind: 'write' as const, resourceId: r.id })),
        ...set.creates.map((r) => ({ kind: 'write' as const, resourceId: r.id })),
        ...set.deletes.map((id) => ({ kind: 'delete' as const, resourceId: id })),
      ];
      const messages = burst.length * config.duplication;
      const common = {
        kind: 'events' as const,
        hostJsonPath: HOST_JSON,
        ...(config.hostQueues ? { hostQueues: config.hostQueues } : {}),
        drainTimeoutMs: 20 * 60_000,
      };
      let job: EventsJob;
      let queue: BenchQueue | undefined;
      if (transport === 'azurite') {
        const deliveries = shuffle(
          burst.flatMap((e) => {
            const text = toQueueMessage(resourceEvent({ ...e, eventTime }));
            return Array.from({ length: config.duplication }, () => text);
          }),
          prng(config.seed + 44),
        );
        progress(`${name}: enqueueing ${messages} messages (${burst.length} events × ${config.duplication}) into Azurite`);
        queue = await emu!.startQueue();
        await queue.enqueue(deliveries);
        job = {
          ...common,
          transport,
          env: appEnv(emu!, config, { AzureWebJobsStorage: queue.connectionString, RESOURCE_EVENTS_QUEUE: queue.queueName }),
          connectionString: queue.connectionString,
          queueName: queue.queueName,
        };
      } else {
        job = {
          ...common,
          transport,
          env: appEnv(emu!, config),
          connectionString: '',
          queueName: 'resource-events',
          burst: { events: burst, duplication: config.duplication, seed: config.seed + 44, eventTime: eventTime.toISOString() },
        };
      }
      emu!.resetCounts();
      progress(`${name}: draining ${messages} messages through the ${transport === 'azurite' ? 'Azurite queue host' : 'in-memory queue host'} and the resource-events handler`);
      const app = await runInChild(job, childOptions(config, name));
      const { report, boundNote, detail } = scenarioReport(name, sizeOf().resources, app, eventWork(set), emu!, {
        events: burst.length,
        eventsPerSecond: burst.length / (app.wallMs / 1000),
      });
      scenarios.push(report);
      const mismatch = emu!.catalogMismatch();
      const leftover = queue ? await queue.remaining() : { main: 0, poison: Number(app.detail.poisoned ?? 0) };
      details[name] = { ...detail, changeSet: set, leftover, ...(mismatch ? { mismatch } : {}) };
      note(name, [
        boundNote,
        `${messages} messages delivered through ${transport === 'azurite' ? 'Azurite and test/support/queueHost.ts' : 'the in-memory queue host (memoryHost.ts)'} (${burst.length} distinct events × ${config.duplication}, shuffled); events/s counts distinct events; app CPU ${(app.cpuMs / 1000).toFixed(1)} s of ${(app.wallMs / 1000).toFixed(1)} s wall (the rest is waiting on the queue, Resource Graph and Port); handler detail: ${JSON.stringify(app.detail)}`,
        `EVENT_SETTLE_TIME=${config.eventSettleTime}, EVENT_FLUSH_WINDOW=${config.eventFlushWindow}: the confirming re-reads are inside the measured time`,
        ...(leftover.main + leftover.poison > 0 ? [`INCORRECT: ${leftover.main} messages left in the queue, ${leftover.poison} in the poison queue`] : []),
        ...(Number(app.detail.unhandledRejections) > 0
          ? [`${String(app.detail.unhandledRejections)} unhandled rejections in the queue host (first: ${String(app.detail.firstUnhandled)}); the host stand-in does not await its queue calls`]
          : []),
        ...(mismatch ? [`INCORRECT: Port differs from the estate after the burst: ${mismatch}`] : []),
      ]);
    };

    if (wants('S4')) {
      if (!wants('S1') && !wants('S2') && !wants('S3')) await emu!.syncPortToEstate();
      await eventBurst('S4', config.s4Transport, sizes.events, config.seed + 4);
      // Azurite's in-memory queue slows down as it grows (about 150 messages/s at 1,500 queued, single digits at
      // 30,000 on a 2-CPU machine), so the full burst goes through the in-memory host and this row puts a slice of
      // it through Azurite and the host stand-in, the way the Functions host drives the handler.
      const azuriteEvents = Math.round(sizes.events * config.s4AzuriteShare);
      if (config.s4Transport === 'memory' && azuriteEvents > 0) await eventBurst('S4-azurite', 'azurite', azuriteEvents, config.seed + 5);
    }
    if (wants('S5')) {
      progress('S5: importing the compiled function entry files in fresh processes');
      const cold = await coldStart(config);
      scenarios.push({
        name: 'S5',
        resources: 0,
        wallMs: cold.wallMs,
        boundMs: 0,
        ratioToBound: null,
        argQueries: 0,
        portRequests: { total: 0, bulkUpsert: 0, search: 0, delete: 0, token: 0, other: 0 },
        portWrites: 0,
        peakRssMb: cold.peakRssMb,
        events: null,
        eventsPerSecond: null,
      });
      note('S5', [`median of ${cold.runs.length} fresh processes importing ${cold.files} entry files: ${cold.runs.map((r) => r.toFixed(0)).join(', ')} ms`]);
    }
    if (wants('S6')) {
      const s6 = config.s6;
      progress(`S6: ${sizes.s6Changes} changes through the real handler on a virtual clock (lag: ${describeSpec(s6.lag)})`);
      const app = await runInChild(
        {
          kind: 'freshness',
          env: {
            PORT_MAX_CONCURRENCY: String(config.limits.port.concurrency),
            ARG_MAX_CONCURRENCY: String(config.limits.arg.concurrency),
            AzureWebJobsStorage: 'UseDevelopmentStorage=true',
            EVENT_SETTLE_TIME: s6.settleTime,
            EVENT_FLUSH_WINDOW: config.eventFlushWindow,
            LOG_LEVEL: config.verbose ? 'info' : 'warn',
          },
          estate: { ...s6.estate, seed: config.seed + 6 },
          workload: {
            changes: sizes.s6Changes,
            sparseRatePerSecond: s6.sparseRatePerSecond,
            burstShare: s6.burstShare,
            bursts: s6.bursts,
            lag: s6.lag,
            delivery: s6.delivery,
            duplicateShare: s6.duplicateShare,
            seed: config.seed + 66,
          },
          limits: config.limits,
          hostJsonPath: HOST_JSON,
          horizonMs: s6.horizonMs,
          notifications: s6.notifications,
        },
        childOptions(config, 'S6'),
      );
      const d = app.detail as Record<string, unknown> & Omit<FreshnessReport, 'lagModel' | 'deliveryModel'>;
      const freshness: FreshnessReport = {
        changes: d.changes,
        freshnessMs: d.freshnessMs,
        freshnessAbsoluteMs: d.freshnessAbsoluteMs,
        sparseFreshnessMs: d.sparseFreshnessMs,
        sparseFreshnessAbsoluteMs: d.sparseFreshnessAbsoluteMs,
        argQueries: d.argQueries,
        portRequests: d.portRequests,
        armReads: d.armReads,
        unreached: d.unreached,
        regressions: d.regressions,
        lagModel: describeSpec(s6.lag),
        deliveryModel: describeSpec(s6.delivery),
      };
      scenarios.push({
        name: 'S6',
        resources: s6.estate.resources,
        wallMs: app.wallMs,
        boundMs: 0,
        ratioToBound: null,
        argQueries: d.argQueries,
        portRequests: { total: d.portRequests, bulkUpsert: 0, search: 0, delete: 0, token: 0, other: 0 },
        portWrites: 0,
        peakRssMb: app.peakRssMb,
        events: null,
        eventsPerSecond: null,
        freshness,
      });
      const mismatch = typeof d.mismatch === 'string' ? d.mismatch : undefined;
      details.S6 = {
        bulkUpsertsByBlueprint: {},
        perfectPortRequests: 0,
        perfectArgQueries: 0,
        estate: { ...s6.estate },
        app: app.detail,
        ...(mismatch && freshness.unreached === 0 ? { mismatch } : {}),
      };
      note('S6', [
        `${s6.notifications ? 'with' : 'without'} Resource Notifications events; ${d.changes} changes (${String(d.samples)} entities watched), virtual ${(Number(d.virtualMs) / 1000).toFixed(0)} s in ${(Number(d.realMs) / 1000).toFixed(0)} s real; EVENT_SETTLE_TIME=${s6.settleTime}; queue ${JSON.stringify(d.queue)}`,
        `sparse part: relative ${JSON.stringify(d.sparseFreshnessMs)}, absolute ${JSON.stringify(d.sparseFreshnessAbsoluteMs)}; handler counters ${JSON.stringify(d.counters)}`,
        // What the real-time path leaves to reconciliation (a lag beyond the settle time) is unreached, not wrong.
        ...(mismatch
          ? [
              freshness.unreached > 0
                ? `left to reconciliation (unreached by the real-time path): ${mismatch}`
                : `INCORRECT: Port differs from the estate after the stream: ${mismatch}`,
            ]
          : []),
      ]);
    }
  } finally {
    await emulators?.close();
  }
  return { report: { machine: machine(), scenarios }, notes, details };
}

