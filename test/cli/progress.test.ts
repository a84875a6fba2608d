/**
 * The CLI's progress output (shared/cli/progress.ts): the ETA arithmetic, and the plain lines written when stderr is
 * not a terminal (CI logs, pipes) — reading and writing phases alike, never more often than every couple of seconds.
 */
import { describe, expect, it } from 'vitest';
import { createProgressReporter, eta, formatDuration } from '../../shared/cli/progress.js';

describe('formatDuration', () => {
  it('writes seconds under a minute and minutes with two-digit seconds above', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(-5_000)).toBe('0s');
    expect(formatDuration(12_400)).toBe('12s');
    expect(formatDuration(59_600)).toBe('1m00s');
    expect(formatDuration(65_000)).toBe('1m05s');
    expect(formatDuration(3_725_000)).toBe('62m05s');
  });
});

describe('eta', () => {
  it('is undefined without a total, before the first item, within the first second, or once done', () => {
    expect(eta(10, undefined, 10_000)).toBeUndefined();
    expect(eta(0, 100, 10_000)).toBeUndefined();
    expect(eta(10, 100, 999)).toBeUndefined();
    expect(eta(100, 100, 10_000)).toBeUndefined();
    expect(eta(120, 100, 10_000)).toBeUndefined();
  });

  it('extrapolates the rate so far to the items left', () => {
    expect(eta(25, 100, 10_000)).toBe('30s');
    expect(eta(10, 100, 10_000)).toBe('1m30s');
    expect(eta(1, 3, 1_000)).toBe('2s');
    expect(eta(50, 51, 1_000)).toBe('0s');
  });
});

/** A reporter on a non-TTY stream with a clock the test moves. */
async function plain(options: { showWrites?: boolean; enabled?: boolean } = {}) {
  let t = 1_000_000;
  const lines: string[] = [];
  let pending = '';
  const stream = {
    isTTY: false,
    write: (chunk: string) => {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop()!;
      lines.push(...parts);
    },
  };
  const reporter = await createProgressReporter(stream, options.enabled ?? true, { showWrites: options.showWrites ?? true, now: () => t });
  return {
    reporter,
    lines,
    advance: (ms: number) => (t += ms),
    get unterminated() {
      return pending;
    },
  };
}

describe('progress on a non-TTY stream', () => {
  it('prints a line when a phase starts, then at most one every 2 s', async () => {
    const p = await plain();
    p.reporter.total('resources', 1000);
    p.reporter.update({ phase: 'resources', pages: 1, items: 100 });
    p.advance(500);
    p.reporter.update({ phase: 'resources', pages: 2, items: 200 });
    p.advance(1_600);
    p.reporter.update({ phase: 'resources', pages: 3, items: 300 });
    p.advance(100);
    p.reporter.update({ phase: 'delete', pages: 0, items: 1, total: 4 });
    expect(p.lines).toEqual([
      'progress: resources: 1 pages, 100 of 1000 items (10%); Port: 0 written, 0 deleted',
      'progress: resources: 3 pages, 300 of 1000 items (30%), ETA 5s; Port: 0 written, 0 deleted',
      'progress: delete: 1 of 4 items (25%); Port: 0 written, 0 deleted',
    ]);
    expect(p.unterminated).toBe('');
  });

  it('prints the Port write phase as it goes (rate-limited), even when no read progress arrives', async () => {
    const p = await plain();
    p.reporter.total('resources', 10);
    p.reporter.update({ phase: 'resources', pages: 1, items: 10 });
    // The level's last batch is written after its last page: only writes report now.
    p.reporter.wrote('upserted', 200);
    p.advance(1_000);
    p.reporter.wrote('upserted', 200);
    p.advance(1_100);
    p.reporter.wrote('upserted', 100);
    p.advance(2_000);
    p.reporter.wrote('deleted', 7);
    expect(p.lines).toEqual([
      'progress: resources: 1 pages, 10 of 10 items (100%); Port: 0 written, 0 deleted',
      'progress: resources: 1 pages, 10 of 10 items (100%); Port: 500 written, 0 deleted',
      'progress: resources: 1 pages, 10 of 10 items (100%); Port: 500 written, 7 deleted',
    ]);
  });

  it('shows the total, share and ETA of a write or delete phase whose total the run knows', async () => {
    const p = await plain();
    p.reporter.update({ phase: 'delete', pages: 0, items: 0, total: 3000 });
    p.advance(10_000);
    p.reporter.update({ phase: 'delete', pages: 0, items: 1000, total: 3000 });
    p.reporter.wrote('deleted', 950);
    p.advance(2_000);
    p.reporter.wrote('deleted', 40);
    expect(p.lines).toEqual([
      'progress: delete: 0 of 3000 items (0%); Port: 0 written, 0 deleted',
      'progress: delete: 1000 of 3000 items (33%), ETA 20s; Port: 0 written, 0 deleted',
      'progress: delete: 1000 of 3000 items (33%), ETA 24s; Port: 0 written, 990 deleted',
    ]);
  });

  it('a windowed run shows its lookups and writes against the number of changes', async () => {
    const p = await plain();
    p.reporter.update({ phase: 'changes', pages: 1, items: 40 });
    p.advance(3_000);
    p.reporter.update({ phase: 'lookup', pages: 1, items: 20, total: 40 });
    p.advance(3_000);
    p.reporter.update({ phase: 'write', pages: 0, items: 20, total: 40 });
    expect(p.lines).toEqual([
      'progress: changes: 1 pages, 40 items; Port: 0 written, 0 deleted',
      'progress: lookup: 1 pages, 20 of 40 items (50%); Port: 0 written, 0 deleted',
      'progress: write: 20 of 40 items (50%); Port: 0 written, 0 deleted',
    ]);
  });

  it('a dry run (no writes shown) prints read progress only, and a disabled reporter prints nothing', async () => {
    const dry = await plain({ showWrites: false });
    dry.reporter.update({ phase: 'subscriptions', pages: 1, items: 2 });
    dry.reporter.wrote('upserted', 5);
    dry.advance(5_000);
    dry.reporter.wrote('upserted', 5);
    expect(dry.lines).toEqual(['progress: subscriptions: 1 pages, 2 items']);

    const off = await plain({ enabled: false });
    off.reporter.update({ phase: 'resources', pages: 1, items: 1 });
    off.reporter.wrote('upserted', 1);
    off.reporter.stop();
    expect(off.lines).toEqual([]);
  });
});
