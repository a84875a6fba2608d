/**
 * Progress of a long reconcile run on stderr: a live bar on a terminal, plain lines otherwise (CI logs).
 */
import type { ReconcileProgress } from '../sync/reconcile/context.js';
import type { CliStream } from './io.js';

export interface ProgressReporter {
  update(progress: ReconcileProgress): void;
  stop(): void;
}

const PLAIN_INTERVAL_MS = 2_000;

export async function createProgressReporter(stderr: CliStream, enabled: boolean): Promise<ProgressReporter> {
  if (!enabled) return { update() {}, stop() {} };
  if (stderr.isTTY) {
    const { default: cliProgress } = await import('cli-progress');
    const bar = new cliProgress.SingleBar(
      {
        stream: stderr as NodeJS.WriteStream,
        format: '{phase} | pages {pages} | items {items} | {duration_formatted}',
        hideCursor: true,
        clearOnComplete: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(0, 0, { phase: 'starting', pages: 0, items: 0 });
    return {
      update: (p) => bar.update(0, { phase: p.phase, pages: p.pages, items: p.items }),
      stop: () => bar.stop(),
    };
  }
  // Plain lines: one when a phase starts, then at most one every couple of seconds.
  let lastPhase: string | undefined;
  let lastAt = 0;
  return {
    update(p) {
      const now = Date.now();
      if (p.phase === lastPhase && now - lastAt < PLAIN_INTERVAL_MS) return;
      lastPhase = p.phase;
      lastAt = now;
      stderr.write(`progress: ${p.phase}: ${p.pages} pages, ${p.items} items\n`);
    },
    stop() {},
  };
}
