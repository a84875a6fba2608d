/**
 * One state table of the emulated estate (`resources` or `resourcecontainers`): every version of every row is kept,
 * so a query at time t sees, per id, the newest version that has become visible by then. A version becomes visible
 * at `at + delay`, where `delay` was stamped when it was written (per-table lag) or, when none was, the query-time
 * fallback lag. During the lag a read returns the OLD row, as Resource Graph does.
 */
import type { Row } from './kql.js';

interface Version {
  at: number;
  /** null: deleted. */
  row: Row | null;
  /** Stamped visibility delay (ms); undefined: the table's query-time fallback lag applies. */
  delay?: number;
}

export class VersionedTable {
  private readonly versions = new Map<string, Version[]>();
  /** Every key ever written, sorted: the scan order (and the paging order) of `order by id asc`. */
  private sortedKeys: string[] = [];
  private unsorted = false;

  write(k: string, row: Row | null, at: number, options: { bulk?: boolean; delay?: number } = {}): void {
    let list = this.versions.get(k);
    if (!list) {
      list = [];
      this.versions.set(k, list);
      if (options.bulk) {
        this.sortedKeys.push(k);
        this.unsorted = true;
      } else {
        this.ensureSorted();
        this.sortedKeys.splice(lowerBound(this.sortedKeys, k), 0, k);
      }
    }
    list.push(options.delay === undefined ? { at, row } : { at, row, delay: options.delay });
  }

  private ensureSorted(): void {
    if (this.unsorted) {
      this.sortedKeys.sort();
      this.unsorted = false;
    }
  }

  /** The newest version visible at `now` (written at or before now − its delay), or null. */
  visible(k: string, now: number, fallbackDelay: number): Row | null {
    const list = this.versions.get(k);
    if (!list) return null;
    for (let i = list.length - 1; i >= 0; i--) {
      const v = list[i]!;
      if (v.at + (v.delay ?? fallbackDelay) <= now) return v.row;
    }
    return null;
  }

  /** When the newest version (the current state) becomes visible: its write time plus its delay. */
  currentVisibleAt(k: string, fallbackDelay: number): number | undefined {
    const list = this.versions.get(k);
    if (!list) return undefined;
    const v = list[list.length - 1]!;
    return v.at + (v.delay ?? fallbackDelay);
  }

  current(k: string): Row | null {
    const list = this.versions.get(k);
    return list ? list[list.length - 1]!.row : null;
  }

  /** Keys after `afterKey` (exclusive) in sort order. */
  *keysFrom(afterKey?: string): Generator<string> {
    this.ensureSorted();
    let i = afterKey === undefined ? 0 : upperBound(this.sortedKeys, afterKey);
    while (i < this.sortedKeys.length) yield this.sortedKeys[i++]!;
  }

  /** Keys starting with `prefix`, in sort order. */
  *keysWithPrefix(prefix: string): Generator<string> {
    this.ensureSorted();
    for (let i = lowerBound(this.sortedKeys, prefix); i < this.sortedKeys.length; i++) {
      const k = this.sortedKeys[i]!;
      if (!k.startsWith(prefix)) return;
      yield k;
    }
  }

  *currentRows(): Generator<Row> {
    for (const k of this.keysFrom()) {
      const row = this.current(k);
      if (row) yield row;
    }
  }
}

function lowerBound(sorted: string[], value: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(sorted: string[], value: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
