/**
 * `npm run bench`: the 100k-resource benchmarks of issue #7 against the Port and Resource Graph emulators.
 *
 *   npm run bench -- --out bench-results.json            full scale (100k resources)
 *   npm run bench -- --scale 0.05 --scenarios S1,S2      smaller and selective
 *   npm run bench -- --help                              every limit is a flag
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CONFIG, SCENARIO_NAMES, type BenchConfig, type ScenarioName } from './config.js';
import { mappingMarkdown, runMappingBench } from './mapping.js';
import { runBench } from './run.js';
import { checkLagSpec, type LagSpec } from '../emulators/resourceGraph/lag.js';

function lagSpec(flag: string) {
  return (raw: string): LagSpec => {
    try {
      return checkLagSpec(/^\s*[{]/.test(raw) ? JSON.parse(raw) : Number(raw), flag);
    } catch (error) {
      throw new InvalidArgumentError(`${flag} expects ms or a lag distribution as JSON (test/emulators/README.md): ${(error as Error).message}`);
    }
  };
}
import { evaluateTargets, targetsMarkdown, toMarkdown, writeReport } from './report.js';

function number(flag: string, { min = 0, integer = false, max = Number.POSITIVE_INFINITY } = {}) {
  return (raw: string): number => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(
        `${flag} expects ${integer ? 'a whole number' : 'a number'} from ${min}${max === Number.POSITIVE_INFINITY ? '' : ` to ${max}`}, got "${raw}"`,
      );
    }
    return n;
  };
}

function scenarioList(raw: string): ScenarioName[] {
  const names = raw.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
  const unknown = names.filter((n) => !(SCENARIO_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new InvalidArgumentError(`--scenarios expects a comma list of ${SCENARIO_NAMES.join(', ')}; unknown: ${unknown.join(', ') || '(empty)'}`);
  }
  return names as ScenarioName[];
}

export async function main(argv: string[]): Promise<number> {
  const d = DEFAULT_CONFIG;
  const program = new Command('bench')
    .description('Benchmarks azure-port-sync against the Port and Resource Graph emulators (issue #7).')
    .option('--out <file>', 'write the JSON report to this file')
    .option('--scale <fraction>', 'shrink every scenario proportionally', number('--scale', { min: 0.0001, max: 1 }), 1)
    .option('--scenarios <list>', `which scenarios to run (${SCENARIO_NAMES.join(',')})`, scenarioList, [...SCENARIO_NAMES])
    .option('--seed <n>', 'estate and workload seed', number('--seed', { integer: true }), d.seed)
    .option('--subscriptions <n>', 'subscriptions at scale 1', number('--subscriptions', { min: 1, integer: true }), d.estate.subscriptions)
    .option('--resource-groups <n>', 'resource groups at scale 1', number('--resource-groups', { min: 1, integer: true }), d.estate.resourceGroups)
    .option('--resources <n>', 'resources at scale 1', number('--resources', { min: 1, integer: true }), d.estate.resources)
    .option('--changes <n>', 'S3 changes at scale 1', number('--changes', { integer: true }), d.changes)
    .option('--events <n>', 'S4 distinct events at scale 1', number('--events', { integer: true }), d.events)
    .option('--duplication <n>', 'S4 deliveries of each event', number('--duplication', { min: 1, integer: true }), d.duplication)
    .option('--arg-quota <n>', 'ARG queries per quota window', number('--arg-quota', { min: 1, integer: true }), d.limits.arg.quota)
    .option('--arg-window-ms <ms>', 'ARG quota window', number('--arg-window-ms', { min: 1 }), d.limits.arg.windowMs)
    .option('--arg-page-size <n>', 'ARG rows per page', number('--arg-page-size', { min: 1, max: 1000, integer: true }), d.limits.arg.pageSize)
    .option('--arg-latency-ms <ms>', 'ARG latency per page', number('--arg-latency-ms'), d.limits.arg.latencyMs)
    .option('--arg-concurrency <n>', 'ARG_MAX_CONCURRENCY of the app', number('--arg-concurrency', { min: 1, max: 15, integer: true }), d.limits.arg.concurrency)
    .option('--subscription-batch-size <n>', "the app's SUBSCRIPTION_BATCH_SIZE (default: the app's own)", number('--subscription-batch-size', { min: 1, max: 1000, integer: true }))
    .option('--port-rate-limit <n>', 'Port requests per rate-limit period', number('--port-rate-limit', { min: 1, integer: true }), d.limits.port.rateLimit)
    .option('--port-period-ms <ms>', 'Port rate-limit period', number('--port-period-ms', { min: 1 }), d.limits.port.periodMs)
    .option('--port-latency-ms <ms>', 'Port latency per request', number('--port-latency-ms'), d.limits.port.latencyMs)
    .option('--port-bulk-limit <n>', 'entities per Port bulk upsert (Port: 20)', number('--port-bulk-limit', { min: 1, max: 20, integer: true }), d.limits.port.bulkLimit)
    .option('--port-concurrency <n>', 'PORT_MAX_CONCURRENCY of the app', number('--port-concurrency', { min: 1, max: 100, integer: true }), d.limits.port.concurrency)
    .option('--event-flush-window <duration>', 'EVENT_FLUSH_WINDOW for S4', d.eventFlushWindow)
    .option('--event-settle-time <duration>', 'EVENT_SETTLE_TIME for S4 (≥ 1s)', d.eventSettleTime)
    .option('--host-batch-size <n>', "S4: override host.json's queues.batchSize", number('--host-batch-size', { min: 1, max: 32, integer: true }))
    .option('--host-new-batch-threshold <n>', "S4: override host.json's queues.newBatchThreshold", number('--host-new-batch-threshold', { min: 0, integer: true }))
    .option('--cold-start-runs <n>', 'fresh processes for S5 (median reported)', number('--cold-start-runs', { min: 1, integer: true }), d.coldStartRuns)
    .option('--app-node-flags <flags>', 'extra node flags for the application child processes, e.g. "--max-old-space-size=200"')
    .addOption(new Option('--cpu-prof <dir>', 'write a V8 CPU profile of each app child process into <dir>'))
    .addOption(new Option('--s4-transport <queue>', 'S4 queue: an in-memory queue with the host semantics, or Azurite with the host stand-in').choices(['memory', 'azurite']).default(d.s4Transport))
    .option('--s4-azurite-share <fraction>', 'with --s4-transport memory, also run this share of the burst through Azurite (row S4-azurite; 0 skips)', number('--s4-azurite-share', { max: 1 }), d.s4AzuriteShare)
    .option('--s6-changes <n>', 'S6 changes at scale 1', number('--s6-changes', { min: 1, integer: true }), d.s6.changes)
    .option('--s6-rate <n>', 'S6 sparse changes per second', number('--s6-rate', { min: 0.01 }), d.s6.sparseRatePerSecond)
    .option('--s6-lag <spec>', 'S6 Resource Graph lag: ms, or a distribution as JSON (default: 95 % 0–30 s, 4 % 30 s–2 min, 1 % 2–5 min)', lagSpec('--s6-lag'), d.s6.lag)
    .option('--s6-delivery <spec>', 'S6 Event Grid delivery delay: ms, or a distribution as JSON', lagSpec('--s6-delivery'), d.s6.delivery)
    .option('--s6-notifications', 'S6: also deliver Azure Resource Notifications events (emitted once Resource Graph has the change)', false)
    .option('--s6-settle-time <duration>', 'EVENT_SETTLE_TIME for S6 (virtual time)', d.s6.settleTime)
    .addOption(new Option('--app <runtime>', 'run the application compiled (dist) or from source (tsx)').choices(['dist', 'source']).default('dist'))
    .option('--verbose', "show the app's logs", false)
    .option('--mapping-only', 'run only the mapping micro-benchmark (CPU per row per mapping entry)', false)
    .option('--no-mapping', 'skip the mapping micro-benchmark')
    .exitOverride();

  try {
    program.parse(argv, { from: 'user' });
  } catch (error) {
    const code = (error as { exitCode?: number }).exitCode;
    return code ?? 2;
  }
  const o = program.opts<Record<string, unknown>>();
  const config: BenchConfig = {
    ...d,
    scale: o.scale as number,
    scenarios: o.scenarios as ScenarioName[],
    seed: o.seed as number,
    estate: { subscriptions: o.subscriptions as number, resourceGroups: o.resourceGroups as number, resources: o.resources as number },
    changes: o.changes as number,
    events: o.events as number,
    duplication: o.duplication as number,
    coldStartRuns: o.coldStartRuns as number,
    ...(o.subscriptionBatchSize !== undefined ? { subscriptionBatchSize: o.subscriptionBatchSize as number } : {}),
    eventFlushWindow: o.eventFlushWindow as string,
    eventSettleTime: o.eventSettleTime as string,
    ...(o.hostBatchSize !== undefined || o.hostNewBatchThreshold !== undefined
      ? {
          hostQueues: {
            ...(o.hostBatchSize !== undefined ? { batchSize: o.hostBatchSize as number } : {}),
            ...(o.hostNewBatchThreshold !== undefined ? { newBatchThreshold: o.hostNewBatchThreshold as number } : {}),
          },
        }
      : {}),
    limits: {
      arg: {
        ...d.limits.arg,
        quota: o.argQuota as number,
        windowMs: o.argWindowMs as number,
        pageSize: o.argPageSize as number,
        latencyMs: o.argLatencyMs as number,
        concurrency: o.argConcurrency as number,
      },
      port: {
        ...d.limits.port,
        rateLimit: o.portRateLimit as number,
        periodMs: o.portPeriodMs as number,
        latencyMs: o.portLatencyMs as number,
        bulkLimit: o.portBulkLimit as number,
        concurrency: o.portConcurrency as number,
      },
    },
    ...(o.cpuProf ? { cpuProfileDir: o.cpuProf as string } : {}),
    ...(typeof o.appNodeFlags === 'string' ? { appNodeFlags: o.appNodeFlags.split(/\s+/).filter(Boolean) } : {}),
    verbose: o.verbose as boolean,
    appRuntime: o.app as 'dist' | 'source',
    s4Transport: o.s4Transport as 'azurite' | 'memory',
    s4AzuriteShare: o.s4AzuriteShare as number,
    s6: {
      ...d.s6,
      changes: o.s6Changes as number,
      sparseRatePerSecond: o.s6Rate as number,
      lag: o.s6Lag as LagSpec,
      delivery: o.s6Delivery as LagSpec,
      settleTime: o.s6SettleTime as string,
      notifications: o.s6Notifications as boolean,
    },
    progress: (line) => process.stderr.write(`[bench] ${line}\n`),
  };

  if (o.mappingOnly) {
    const mapping = await runMappingBench({ scale: config.scale, seed: config.seed, progress: config.progress });
    process.stdout.write(mappingMarkdown(mapping));
    return mapping.rows.some((r) => r.realJqEvaluations > 0 && !r.mapping.includes('real jq')) ? 1 : 0;
  }
  const { report, notes } = await runBench(config);
  process.stdout.write(toMarkdown(report, notes));
  process.stdout.write('\nTargets (issue #7; reported, not asserted):\n\n' + targetsMarkdown(evaluateTargets(report)));
  if (o.mapping !== false) {
    const mapping = await runMappingBench({ scale: config.scale, seed: config.seed, progress: config.progress });
    process.stdout.write('\n' + mappingMarkdown(mapping));
  }
  if (typeof o.out === 'string') {
    writeReport(o.out, report);
    process.stderr.write(`[bench] wrote ${o.out}\n`);
  }
  const incorrect = notes.some((n) => n.lines.some((l) => l.startsWith('INCORRECT')));
  return incorrect ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
