/**
 * Child-process entry of the bench: runs one AppJob (see jobs.ts) and reports time and peak RSS over IPC.
 * Everything here is the production wiring; only the endpoints and the Resource Graph credential point at the
 * emulators.
 */
import { peakRssMb, type AppJob, type AppResult, type EventsJob, type FreshnessJob, type ReconcileJob } from './jobs.js';

async function appLogger(env: Record<string, string>) {
  const { createLogger, jsonLineSink } = await import('../../shared/log.js');
  const level = (env.LOG_LEVEL as 'debug' | 'info' | 'warn' | 'error' | undefined) ?? 'warn';
  return createLogger(jsonLineSink((line) => process.stderr.write(line + '\n')), level);
}

async function runReconcile(job: ReconcileJob): Promise<JobResult> {
  const { loadSettings } = await import('../../shared/settings.js');
  const { createPortClient } = await import('../../shared/port/client.js');
  const { createEmulatorGraphReader } = await import('./appWiring.js');
  const { runReconciliation } = await import('../../shared/sync/reconcile/index.js');
  const settings = loadSettings(job.env);
  const logger = await appLogger(job.env);
  const started = performance.now();
  const port = createPortClient(settings.port, logger);
  const graph = await createEmulatorGraphReader(settings, logger);
  const summary = await runReconciliation({ port, graph, settings, logger }, { mode: job.mode });
  const wallMs = performance.now() - started;
  return { wallMs, peakRssMb: peakRssMb(), detail: { summary: summary as unknown } };
}

async function runEvents(job: EventsJob): Promise<JobResult> {
  for (const [k, v] of Object.entries(job.env)) process.env[k] = v;
  // test/support/queueHost.ts does not await its per-message queue calls, so one failed deleteMessage (Azurite
  // answers 408 under load) would kill the process. The real host logs such a failure and the message comes back
  // after its visibility timeout. Count them instead, and report them with the result.
  const hostErrors: string[] = [];
  process.on('unhandledRejection', (reason) => {
    hostErrors.push(reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason));
  });
  const { drainWithHost, drainInMemory } = await import('./appWiring.js');
  const started = performance.now();
  const detail = job.transport === 'memory' ? await drainInMemory(job) : await drainWithHost(job);
  const wallMs = performance.now() - started;
  return { wallMs, peakRssMb: peakRssMb(), detail: { ...detail, unhandledRejections: hostErrors.length, firstUnhandled: hostErrors[0] } };
}

async function runFreshnessJob(job: FreshnessJob): Promise<JobResult> {
  const { runFreshness } = await import('./freshness/runFreshness.js');
  const started = performance.now();
  const detail = await runFreshness(job);
  return { wallMs: performance.now() - started, peakRssMb: peakRssMb(), detail };
}

type JobResult = Omit<AppResult, 'cpuMs'>;

async function run(job: AppJob): Promise<AppResult> {
  const cpu = process.cpuUsage();
  let result: JobResult;
  switch (job.kind) {
    case 'reconcile':
      result = await runReconcile(job);
      break;
    case 'events':
      result = await runEvents(job);
      break;
    case 'freshness':
      result = await runFreshnessJob(job);
      break;
  }
  const used = process.cpuUsage(cpu);
  return { ...result, cpuMs: (used.user + used.system) / 1000 };
}

process.once('message', (job: AppJob) => {
  run(job).then(
    (result) => process.send!({ ok: true, result }, () => process.exit(0)),
    (error: unknown) =>
      process.send!({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, () => process.exit(1)),
  );
});
