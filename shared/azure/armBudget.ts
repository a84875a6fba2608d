/**
 * How many ARM reads the real-time path may spend, and when. Two token buckets:
 * - per subscription, ARM's own model (about 250 reads, refilled at 25 per second, per subscription and identity),
 *   corrected by the `x-ms-ratelimit-remaining-subscription-reads` header of every answer and closed for the
 *   Retry-After of a 429; a reserve is left for the operators and tools sharing the identity;
 * - per worker, ARM_READS_PER_SECOND: a read by id costs one request per id, a Resource Graph read serves up to 1000,
 *   so direct reads are for sparse events; in a burst this bucket runs dry and the rest waits for batched Resource
 *   Graph re-checks (issue #14).
 * A read that does not fit is not queued: the caller falls back to Resource Graph.
 */
export interface ArmBudgetOptions {
  /** Worker-wide direct reads per second (0: none); the bucket holds twice that. */
  readsPerSecond: number;
  /** ARM's per-subscription bucket (reads) and refill (per second). */
  subscriptionBucket?: number;
  subscriptionRefillPerSecond?: number;
  /** Reads per subscription left to others sharing the identity. */
  reserve?: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
  closedUntil: number;
}

export class ArmReadBudget {
  private readonly now: () => number;
  private readonly bucket: number;
  private readonly refill: number;
  private readonly reserve: number;
  private readonly subscriptions = new Map<string, Bucket>();
  private readonly worker: Bucket;
  private denied = 0;

  constructor(private readonly options: ArmBudgetOptions) {
    if (!(options.readsPerSecond >= 0)) throw new RangeError(`readsPerSecond must be ≥ 0, got ${options.readsPerSecond}`);
    this.now = options.now ?? Date.now;
    this.bucket = options.subscriptionBucket ?? 250;
    this.refill = options.subscriptionRefillPerSecond ?? 25;
    this.reserve = options.reserve ?? 25;
    this.worker = { tokens: 2 * options.readsPerSecond, at: this.now(), closedUntil: 0 };
  }

  get enabled(): boolean {
    return this.options.readsPerSecond > 0;
  }

  /** Reads refused so far (the caller used Resource Graph instead). */
  deniedCount(): number {
    return this.denied;
  }

  /** Takes one read for `subscription` if both buckets allow it. */
  tryTake(subscription: string): boolean {
    const now = this.now();
    const sub = this.subscription(subscription, now);
    refill(this.worker, now, this.options.readsPerSecond, 2 * this.options.readsPerSecond);
    if (!this.enabled || now < sub.closedUntil || sub.tokens < 1 + this.reserve || this.worker.tokens < 1) {
      this.denied++;
      return false;
    }
    sub.tokens -= 1;
    this.worker.tokens -= 1;
    return true;
  }

  /** ARM's own count of what is left: trust it when it is lower than ours (other workers read too). */
  observeRemaining(subscription: string, remaining: number): void {
    if (!Number.isFinite(remaining) || remaining < 0) return;
    const sub = this.subscription(subscription, this.now());
    sub.tokens = Math.min(sub.tokens, remaining);
  }

  /** A 429: no direct reads for this subscription until Retry-After has passed. */
  throttled(subscription: string, retryAfterMs: number): void {
    const now = this.now();
    const sub = this.subscription(subscription, now);
    sub.tokens = 0;
    sub.closedUntil = now + Math.max(1_000, retryAfterMs);
  }

  private subscription(id: string, now: number): Bucket {
    const key = id.toLowerCase();
    let b = this.subscriptions.get(key);
    if (!b) {
      b = { tokens: this.bucket, at: now, closedUntil: 0 };
      this.subscriptions.set(key, b);
    }
    refill(b, now, this.refill, this.bucket);
    return b;
  }
}

function refill(b: Bucket, now: number, perSecond: number, max: number): void {
  b.tokens = Math.min(max, b.tokens + (Math.max(0, now - b.at) / 1000) * perSecond);
  b.at = now;
}
