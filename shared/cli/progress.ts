/**
 * Progress of a CLI reconcile run on stderr: a live bar on a terminal, plain lines otherwise (CI logs, pipes: one
 * when a phase starts, then at most one every 2 s, as reading or Port writes move). Each reading phase shows rows
 * read of Resource Graph's stated total (`totalRecords`) and an ETA; the delete phase and a window's lookups and
 * writes show items done of the run's own total (candidates, changes) and an ETA; the Port side shows entities
 * written and deleted so far, whichever phase is running.
 */
import type { ArgListing } from '../azure/resourceGraph.js';
import type { PortApi } from '../port/types.js';
import type { ReconcileProgress } from '../sync/reconcile/context.js';
import type { CliStream } from './io.js';

export interface ProgressReporter {
  update(progress: ReconcileProgress): void;
  /** Resource Graph's total for a listing (called once per query; batches add up). */
  total(listing: ArgListing, totalRecords: number): void;
  /** Entities Port accepted (upserted) or deleted. */
  wrote(kind: 'upserted' | 'deleted', count: number): void;
  stop(): void;
}

const PLAIN_INTERVAL_MS = 2_000;

/** "1m05s", "12s". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** Estimated time left at the rate so far; undefined until there is a rate and a total to go by. */
export function eta(items: number, total: number | undefined, elapsedMs: number): string | undefined {
  if (total === undefined || items <= 0 || elapsedMs < 1_000 || items >= total) return undefined;
  return formatDuration(((total - items) * elapsedMs) / items);
}

/** Counts what Port accepted, for the write-phase progress; everything else passes through unchanged. */
export function countingWrites<P extends PortApi>(port: P, wrote: ProgressReporter['wrote']): P {
  const counted: PortApi = {
    upsertEntities: async (blueprint, entities, options) => {
      const outcomes = await port.upsertEntities(blueprint, entities, options);
      wrote('upserted', outcomes.filter((o) => o.ok).length);
      return outcomes;
    },
    deleteEntities: async (blueprint, identifiers, options) => {
      const result = await port.deleteEntities(blueprint, identifiers, options);
      wrote('deleted', result.deleted.length);
      return result;
    },
    searchEntities: (blueprint, options) => port.searchEntities(blueprint, options),
    getEntity: (blueprint, identifier, options) => port.getEntity(blueprint, identifier, options),
    ensureBlueprints: (blueprints, options) => port.ensureBlueprints(blueprints, options),
    requestCounts: () => port.requestCounts(),
  };
  return Object.assign(Object.create(port) as P, counted);
}

class ProgressState {
  readonly totals = new Map<string, number>();
  written = { upserted: 0, deleted: 0 };
  phase: ReconcileProgress | undefined;
  phaseStartedAt: number;

  constructor(
    private readonly showWrites: boolean,
    now: number,
  ) {
    this.phaseStartedAt = now;
  }

  line(now: number): string {
    const p = this.phase;
    if (!p) return this.showWrites ? `starting; Port: ${this.written.upserted} written, ${this.written.deleted} deleted` : 'starting';
    // The run's own total (delete candidates, a window's changes) or Resource Graph's for a reading phase.
    const total = p.total ?? this.totals.get(p.phase);
    const of = total !== undefined ? ` of ${total}` : '';
    const share = total !== undefined && total > 0 ? ` (${Math.min(100, Math.floor((100 * p.items) / total))}%)` : '';
    const left = eta(p.items, total, now - this.phaseStartedAt);
    const pages = p.pages > 0 ? `${p.pages} pages, ` : '';
    const writes = this.showWrites ? `; Port: ${this.written.upserted} written, ${this.written.deleted} deleted` : '';
    return `${p.phase}: ${pages}${p.items}${of} items${share}${left ? `, ETA ${left}` : ''}${writes}`;
  }

  enter(p: ReconcileProgress, now: number): boolean {
    const changed = p.phase !== this.phase?.phase;
    if (changed) this.phaseStartedAt = now;
    this.phase = p;
    return changed;
  }
}

export interface ProgressOptions {
  /** Count and show Port writes (off for a dry run, which writes nothing). */
  showWrites?: boolean;
  /** Clock (tests). */
  now?: () => number;
}

export async function createProgressReporter(stderr: CliStream, enabled: boolean, options: ProgressOptions = {}): Promise<ProgressReporter> {
  if (!enabled) return { update() {}, total() {}, wrote() {}, stop() {} };
  const now = options.now ?? Date.now;
  const showWrites = options.showWrites === true;
  const state = new ProgressState(showWrites, now());
  const addTotal = (listing: ArgListing, n: number) => state.totals.set(listing, (state.totals.get(listing) ?? 0) + n);
  if (stderr.isTTY) {
    const { default: cliProgress } = await import('cli-progress');
    const bar = new cliProgress.SingleBar(
      { stream: stderr as NodeJS.WriteStream, format: '{status} | {duration_formatted}', hideCursor: true, clearOnComplete: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(0, 0, { status: 'starting' });
    const redraw = () => bar.update(0, { status: state.line(now()) });
    return {
      update: (p) => {
        state.enter(p, now());
        redraw();
      },
      total: (listing, n) => addTotal(listing, n),
      wrote: (kind, n) => {
        state.written[kind] += n;
        if (showWrites) redraw();
      },
      stop: () => bar.stop(),
    };
  }
  // Plain lines: one when a phase starts, then at most one every couple of seconds, whether reading or Port writes
  // move (the last batch of a level, and deletions, are written after the reading that led to them).
  let lastAt = Number.NEGATIVE_INFINITY;
  const print = (at: number) => {
    lastAt = at;
    stderr.write(`progress: ${state.line(at)}\n`);
  };
  return {
    update(p) {
      const at = now();
      const started = state.enter(p, at);
      if (started || at - lastAt >= PLAIN_INTERVAL_MS) print(at);
    },
    total: (listing, n) => addTotal(listing, n),
    wrote(kind, n) {
      state.written[kind] += n;
      if (!showWrites || n === 0) return;
      const at = now();
      if (at - lastAt >= PLAIN_INTERVAL_MS) print(at);
    },
    stop() {},
  };
}
