/**
 * An in-process micro-batcher shared by the concurrent invocations of one worker.
 *
 * The host runs up to batchSize + newBatchThreshold invocations at once; each submits its item and awaits the
 * outcome for ITS key only. Items for the same key inside one window merge into one, so a burst of duplicate events
 * costs one Resource Graph lookup and one Port write. One key failing never fails its neighbours.
 *
 * Group commit: at most `maxInFlightBatches` batches run at once. When the window closes while that many are still
 * running, the pending items keep gathering until one finishes (or `maxKeys` is reached). An idle worker still
 * answers within the flush window, and under load batches grow with the arrival rate instead of splitting into
 * many small Resource Graph queries (quota: 15 per 5 s) and half-empty Port bulk calls.
 */
export interface MicroBatcherOptions<K, I, O> {
  /** How long the first item of a batch waits for company. */
  flushWindowMs: number;
  /** Flush as soon as this many distinct keys are pending. */
  maxKeys: number;
  /** Batches processed concurrently (default 2: one can read Resource Graph while another writes to Port). */
  maxInFlightBatches?: number;
  /** Combines a second item for a key already pending in the window. */
  merge(existing: I, incoming: I): I;
  /** Processes a batch; per-key failures are returned as Error values, not thrown. */
  process(batch: Map<K, I>): Promise<Map<K, O | Error>>;
}

interface Pending<I, O> {
  item: I;
  waiters: { resolve(value: O): void; reject(error: unknown): void }[];
}

export class MicroBatcher<K, I, O> {
  private pending = new Map<K, Pending<I, O>>();
  private timer: NodeJS.Timeout | undefined;
  /** The window closed while the in-flight cap was reached: flush as soon as a batch finishes. */
  private windowClosed = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly maxInFlightBatches: number;

  constructor(private readonly options: MicroBatcherOptions<K, I, O>) {
    if (!(options.maxKeys >= 1)) throw new Error(`MicroBatcher: maxKeys must be at least 1, got ${options.maxKeys}`);
    if (!(options.flushWindowMs >= 0)) throw new Error(`MicroBatcher: flushWindowMs must be 0 or more, got ${options.flushWindowMs}`);
    this.maxInFlightBatches = options.maxInFlightBatches ?? 2;
    if (!(this.maxInFlightBatches >= 1)) {
      throw new Error(`MicroBatcher: maxInFlightBatches must be at least 1, got ${options.maxInFlightBatches}`);
    }
  }

  /** Resolves with the outcome for `key` once its batch is processed; rejects if that key failed. */
  submit(key: K, item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      const existing = this.pending.get(key);
      if (existing) {
        existing.item = this.options.merge(existing.item, item);
        existing.waiters.push({ resolve, reject });
        return;
      }
      this.pending.set(key, { item, waiters: [{ resolve, reject }] });
      if (this.pending.size >= this.options.maxKeys) {
        this.flush();
      } else if (!this.timer && !this.windowClosed) {
        this.timer = setTimeout(() => this.windowElapsed(), this.options.flushWindowMs);
      }
    });
  }

  /** Number of distinct keys waiting for the next flush. */
  get pendingKeys(): number {
    return this.pending.size;
  }

  private windowElapsed(): void {
    this.timer = undefined;
    if (this.inFlight.size >= this.maxInFlightBatches) {
      this.windowClosed = true;
      return;
    }
    this.flush();
  }

  /** Starts processing what is pending now, without waiting for the window or the in-flight cap. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.windowClosed = false;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const run = this.run(batch);
    this.inFlight.add(run);
    void run.finally(() => {
      this.inFlight.delete(run);
      if (this.windowClosed) this.flush();
    });
  }

  /** Flushes and waits until every batch started so far has settled (shutdown, tests). */
  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async run(batch: Map<K, Pending<I, O>>): Promise<void> {
    const items = new Map<K, I>();
    for (const [key, entry] of batch) items.set(key, entry.item);
    let outcomes: Map<K, O | Error>;
    try {
      outcomes = await this.options.process(items);
    } catch (error) {
      for (const entry of batch.values()) for (const w of entry.waiters) w.reject(error);
      return;
    }
    for (const [key, entry] of batch) {
      const outcome = outcomes.has(key) ? outcomes.get(key) : new Error('the batch returned no outcome for this key');
      for (const w of entry.waiters) {
        if (outcome instanceof Error) w.reject(outcome);
        else w.resolve(outcome as O);
      }
    }
  }
}
