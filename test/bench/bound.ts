/**
 * The lower bound on wall time that the configured quotas and latencies impose on a perfect client.
 *
 * A "perfect client" sends only the requests needed to move the data (no retries, no redundant reads), keeps
 * within the configured concurrency of each side, never idles, and pipelines Resource Graph reading with Port
 * writing. The bound is therefore something no implementation can beat; the ratio wall ÷ bound says how much
 * of the time is ours.
 *
 * Requests a perfect client needs (per scenario, computed from the data actually generated):
 *
 *   ARG   Q = Σ over queries of ⌈rows / pageSize⌉, at least 1 per query it must run
 *           (full sync: subscriptions, resource groups, resources; windowed: both change tables + id lookups
 *            in batches of ≤ 1000; events: id lookups in batches of ≤ 1000)
 *   Port  R = 1 token
 *           + search pages (⌈entities held / 1000⌉, at least 1, per blueprint it must read)
 *           + Σ per blueprint ⌈upserts / bulkLimit⌉ + Σ per blueprint ⌈deletes / 100⌉
 *           + state reads and writes (reconciliation keeps its cursor in Port)
 *         Blueprint checks are left out: a perfect client could know the blueprints exist.
 *
 * Time each side needs on its own:
 *
 *   T_arg  = max( (⌈Q / quota⌉ − 1) · window + latency_arg ,   quota:   every quota window admits `quota` queries,
 *                 ⌈Q / c_arg⌉ · latency_arg )                  latency: c_arg pages in flight at once
 *   T_port = max( (⌈R / limit⌉ − 1) · period ,                  rate limit (0 while R fits one period)
 *                 ⌈R / c_port⌉ · latency_port ,                 latency at the configured concurrency
 *                 chain · latency_port )                        the longest chain of dependent requests
 *                                                               (search pages of one blueprint follow `next`)
 *
 * Pipelined, the two overlap, but Port writing cannot start before the first page arrives and the writes for
 * the last page cannot start before it arrives:
 *
 *   bound = max( T_arg + ⌈tail / c_port⌉ · latency_port ,  latency_arg + T_port )
 *
 *   (tail = ⌈rows of the last page / bulkLimit⌉ bulk calls, which can only start once that page has arrived)
 *
 * A scenario with no configured cost (cold start) has bound 0 and no ratio.
 * Queue (Azurite) operations in the event burst carry no configured latency and are left out, which makes the
 * S4 bound lower, never higher, than the truth.
 */

export interface ArgLimits {
  /** Queries admitted per quota window (ARG documents 15 per 5 s). */
  quota: number;
  windowMs: number;
  pageSize: number;
  latencyMs: number;
  /** The client's ARG_MAX_CONCURRENCY. */
  concurrency: number;
}

export interface PortLimits {
  /** Requests admitted per rate-limit period (historically 35,000 per 5 min for the Entities API). */
  rateLimit: number;
  periodMs: number;
  latencyMs: number;
  /** Entities per bulk upsert (Port: 20). */
  bulkLimit: number;
  /** Identifiers per bulk delete (Port: 100). */
  deleteLimit: number;
  /** Entities per search page (Port: 1000). */
  searchPageSize: number;
  /** The client's PORT_MAX_CONCURRENCY. */
  concurrency: number;
}

export interface Limits {
  arg: ArgLimits;
  port: PortLimits;
}

/** Row counts of each Resource Graph query a perfect client must run (each costs at least one page). */
export interface ArgWork {
  queryRows: number[];
}

export interface PortWork {
  /** Entities a perfect client must read back, per blueprint it reads (each costs at least one page). */
  searchEntities: number[];
  /** Extra searches that cannot be folded into the pages above (e.g. one search for the children of deleted groups). */
  extraSearches?: number;
  upsertsPerBlueprint: number[];
  deletesPerBlueprint: number[];
  /** State entity reads and writes. */
  stateRequests: number;
  /** Entities to upsert that come from the last Resource Graph page (written in bulk calls after it arrives). */
  tailWrites: number;
}

export interface Work {
  arg: ArgWork;
  port: PortWork;
}

export interface BoundBreakdown {
  argQueries: number;
  portRequests: number;
  argMs: number;
  portMs: number;
  boundMs: number;
  /** Which constraint set the bound, for the report. */
  limitedBy: 'arg-quota' | 'arg-latency' | 'port-rate' | 'port-latency' | 'port-chain' | 'none';
}

const ceilDiv = (n: number, d: number): number => (n <= 0 ? 0 : Math.ceil(n / d));

function positive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`);
}
function nonNegative(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be zero or more, got ${value}`);
}

export function validateLimits(limits: Limits): void {
  positive('arg.quota', limits.arg.quota);
  positive('arg.windowMs', limits.arg.windowMs);
  positive('arg.pageSize', limits.arg.pageSize);
  nonNegative('arg.latencyMs', limits.arg.latencyMs);
  positive('arg.concurrency', limits.arg.concurrency);
  positive('port.rateLimit', limits.port.rateLimit);
  positive('port.periodMs', limits.port.periodMs);
  nonNegative('port.latencyMs', limits.port.latencyMs);
  positive('port.bulkLimit', limits.port.bulkLimit);
  positive('port.deleteLimit', limits.port.deleteLimit);
  positive('port.searchPageSize', limits.port.searchPageSize);
  positive('port.concurrency', limits.port.concurrency);
}

export function argQueriesNeeded(work: ArgWork, limits: ArgLimits): number {
  return work.queryRows.reduce((sum, rows) => sum + Math.max(1, ceilDiv(rows, limits.pageSize)), 0);
}

export function portRequestsNeeded(work: PortWork, limits: PortLimits): { total: number; longestChain: number } {
  const searchPages = work.searchEntities.map((n) => Math.max(1, ceilDiv(n, limits.searchPageSize)));
  const total =
    1 +
    searchPages.reduce((a, b) => a + b, 0) +
    (work.extraSearches ?? 0) +
    work.upsertsPerBlueprint.reduce((sum, n) => sum + ceilDiv(n, limits.bulkLimit), 0) +
    work.deletesPerBlueprint.reduce((sum, n) => sum + ceilDiv(n, limits.deleteLimit), 0) +
    work.stateRequests;
  return { total, longestChain: Math.max(0, ...searchPages) };
}

/** Time Resource Graph alone needs for `queries` pages. */
export function argTimeMs(queries: number, limits: ArgLimits): { ms: number; by: 'arg-quota' | 'arg-latency' } {
  if (queries <= 0) return { ms: 0, by: 'arg-latency' };
  const quotaMs = (ceilDiv(queries, limits.quota) - 1) * limits.windowMs + limits.latencyMs;
  const latencyMs = ceilDiv(queries, limits.concurrency) * limits.latencyMs;
  return quotaMs >= latencyMs ? { ms: quotaMs, by: 'arg-quota' } : { ms: latencyMs, by: 'arg-latency' };
}

/** Time Port alone needs for `requests` requests, of which `chain` must run one after another. */
export function portTimeMs(
  requests: number,
  chain: number,
  limits: PortLimits,
): { ms: number; by: 'port-rate' | 'port-latency' | 'port-chain' } {
  const rateMs = (Math.max(1, ceilDiv(requests, limits.rateLimit)) - 1) * limits.periodMs;
  const latencyMs = ceilDiv(requests, limits.concurrency) * limits.latencyMs;
  const chainMs = chain * limits.latencyMs;
  if (rateMs >= latencyMs && rateMs >= chainMs) return { ms: rateMs, by: 'port-rate' };
  return latencyMs >= chainMs ? { ms: latencyMs, by: 'port-latency' } : { ms: chainMs, by: 'port-chain' };
}

export function lowerBound(work: Work, limits: Limits): BoundBreakdown {
  validateLimits(limits);
  const argQueries = argQueriesNeeded(work.arg, limits.arg);
  const port = portRequestsNeeded(work.port, limits.port);
  const arg = argTimeMs(argQueries, limits.arg);
  const portSide = portTimeMs(port.total, port.longestChain, limits.port);
  const tailRequests = ceilDiv(work.port.tailWrites, limits.port.bulkLimit);
  const tailMs = ceilDiv(tailRequests, limits.port.concurrency) * limits.port.latencyMs;
  const argLed = arg.ms + tailMs;
  const portLed = (argQueries > 0 ? limits.arg.latencyMs : 0) + portSide.ms;
  const boundMs = Math.max(argLed, portLed);
  const limitedBy = boundMs === 0 ? 'none' : argLed >= portLed ? arg.by : portSide.by;
  return { argQueries, portRequests: port.total, argMs: arg.ms, portMs: portSide.ms, boundMs, limitedBy };
}

/** wall ÷ bound, or null when nothing bounds the scenario. */
export function ratioToBound(wallMs: number, boundMs: number): number | null {
  return boundMs > 0 ? wallMs / boundMs : null;
}
