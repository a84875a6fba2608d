/**
 * A Resource Graph emulator: a real node:http server on 127.0.0.1 that the real @azure/arm-resourcegraph client
 * talks to. It serves `POST /providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01` over a mutable
 * estate, with Resource Graph's paging, permission filtering, per-user quota headers and 429s, and injectable
 * latency, errors and visibility lag. See test/emulators/README.md (## Resource Graph emulator).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TokenCredential } from '@azure/core-auth';
import { staticTestCredential } from './credential.js';
import type { ArgRow } from '../../../shared/azure/types.js';
import { ControlError, handleControl, type ControlTarget } from './control.js';
import { Estate, type EstateSnapshot } from './estate.js';
import { KqlUnsupportedError, applyRowOperator, evaluate, isRowOperator, parseKql, type Query, type Row, type TableName } from './kql.js';
import type { Lag } from './lag.js';
import { Paging, decodeToken, encodeToken, servePage, type PageToken, type PagingOptions } from './paging.js';
import { AccessDenied, Permissions, type RowFilter } from './permissions.js';
import { ArmRoutes } from './arm.js';

export const API_VERSION = '2024-04-01';
const RESOURCES_PATH = '/providers/microsoft.resourcegraph/resources';
const MAX_TOP = 1000;
const MAX_SUBSCRIPTIONS = 1000;

export { EMULATOR_TOKEN, staticTestCredential } from './credential.js';
export type { Lag, LagSpec, LagDistribution, TableLags } from './lag.js';
export { longTailLag } from './lag.js';
export type { PagingOptions, ChurnRule, ChurnPerPage, PagingMode } from './paging.js';
export type { ChangeOp } from './changes.js';

/** What the page hook is told before a page is computed. */
export interface PageInfo {
  table: TableName;
  /** 1-based page number of this query's paging sequence. */
  page: number;
  query: string;
}


export interface QuotaOptions {
  /** Queries allowed per window (Resource Graph's documented example: 15). */
  limit: number;
  /** Window length in ms (documented example: 5000). */
  windowMs: number;
}

/** A canned response for replaying the spec examples: matched on query text and skip token. */
export interface ReplayEntry {
  query: string;
  skipToken?: string;
  status?: number;
  body: unknown;
}

export interface ResourceGraphEmulatorOptions {
  /** 0 (default): a random free port. */
  port?: number;
  estate?: Partial<EstateSnapshot>;
  /** Subscriptions the caller may read (any casing). Default: all. Others are silently omitted, like real ARG. */
  readableSubscriptions?: string[];
  /** Reader on these resource groups only (names) in these subscriptions: subscription id → group names. */
  resourceGroupReaders?: Record<string, string[]>;
  /** Management group name → subscription ids, for `managementGroups` scoped queries. */
  managementGroups?: Record<string, string[]>;
  quota?: QuotaOptions;
  latencyMs?: number;
  /** Legacy shortcut {resourcesMs, changesMs} and/or per-table specs {tables: {resources: 30_000, …}} (lag.ts). */
  lag?: Partial<Lag>;
  /** Paging mode, page size cap and churn (paging.ts). Default: keyset paging, no churn. */
  paging?: PagingOptions;
  /** Start of the emulator clock (default: now). */
  startTime?: Date;
  /** true: the clock only moves with advance()/setNow(). Default false: it ticks with real time plus any offset. */
  manualClock?: boolean;
  /** When set, only these canned responses are served (spec example replay). */
  replay?: ReplayEntry[];
}

export interface RecordedRequest {
  query: string;
  subscriptions?: string[];
  managementGroups?: string[];
  options?: Record<string, unknown>;
  status: number;
}

export interface ResourceGraphEmulator {
  url: string;
  credential: TokenCredential;
  close(): Promise<void>;
  upsertSubscription(row: ArgRow): void;
  upsertResourceGroup(row: ArgRow): void;
  upsertResource(row: ArgRow): void;
  deleteResource(id: string): boolean;
  deleteResourceGroup(id: string): boolean;
  seed(snapshot: Partial<EstateSnapshot>): void;
  /** ARM's moveResources: returns old → new ids (see Estate.moveResources). */
  moveResources(sourceResourceGroup: string, resourceIds: string[], targetResourceGroup: string): { from: string; to: string }[];
  setLag(lag: Partial<Lag>): void;
  lag(): Lag;
  setPaging(options: PagingOptions): void;
  paging(): ReturnType<Paging['describe']>;
  /**
   * Awaited before each page of a query is computed (undefined removes it): lets a test change Azure, or run the
   * product, at an exact point of a listing. In-process only; over HTTP use churn rules.
   */
  setPageHook(hook: ((page: PageInfo) => void | Promise<void>) | undefined): void;
  now(): Date;
  advance(ms: number): void;
  setNow(date: Date): void;
  setQuota(quota: QuotaOptions): void;
  setLatency(ms: number): void;
  /** The next n resource queries fail with `status` (ARG-shaped error body; 429/503 carry Retry-After). */
  failNext(n: number, status: number, options?: { retryAfterSeconds?: number; code?: string }): void;
  /** Exactly these subscriptions readable (undefined: all); clears revocations and group-only grants. */
  setReadableSubscriptions(ids: string[] | undefined): void;
  /** Reader removed: the subscriptions' rows are silently left out (403 only when no requested one is readable). */
  revokeSubscriptions(ids: string[]): void;
  /** Reader on the whole subscription (again). */
  grantSubscriptions(ids: string[]): void;
  /** Reader on these groups only: their rows and resources are visible, the subscription row and other groups not. */
  grantResourceGroups(subscription: string, groups: string[]): void;
  permissions(): ReturnType<Permissions['describe']>;
  /** Every POST to the resources endpoint, throttled and failed ones included. */
  queryCount(): number;
  /** 429s served because the quota was exhausted (not injected ones). */
  throttledCount(): number;
  requests(): RecordedRequest[];
  /** True current state (no lag), as the app's queries project it. */
  estate(): EstateSnapshot;
  /** When queries start showing the id's current state (its newest write plus that write's lag); undefined if never written. */
  visibleAt(id: string): Date | undefined;
  rows(): ArgRow[];
  /** ARM's read API on the same host (arm.ts): throttling, failures, read counts. */
  arm: ArmRoutes;
}

class EmulatorClock {
  private offset: number;
  private frozen: number | undefined;
  constructor(start: Date | undefined, manual: boolean) {
    const startMs = start?.getTime() ?? Date.now();
    this.offset = startMs - Date.now();
    this.frozen = manual ? startMs : undefined;
  }
  now(): number {
    return this.frozen ?? Date.now() + this.offset;
  }
  advance(ms: number): void {
    if (this.frozen !== undefined) this.frozen += ms;
    else this.offset += ms;
  }
  setNow(date: Date): void {
    if (this.frozen !== undefined) this.frozen = date.getTime();
    else this.offset = date.getTime() - Date.now();
  }
}

/** One entry of the spec's ErrorDetails: Resource Graph puts the specific cause (e.g. InvalidQuery) here. */
interface ErrorDetail {
  code: string;
  message: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
  }
}

const hhmmss = (ms: number) => {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
};

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `options` of a QueryRequest; the spec makes it an object when present. */
function requestOptions(body: Record<string, unknown>): Record<string, unknown> {
  const options = body.options ?? {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new HttpError(400, 'BadRequest', `options must be an object (QueryRequestOptions), got ${JSON.stringify(options)}.`);
  }
  return options as Record<string, unknown>;
}

export async function startResourceGraphEmulator(options: ResourceGraphEmulatorOptions = {}): Promise<ResourceGraphEmulator> {
  const clock = new EmulatorClock(options.startTime, options.manualClock ?? false);
  const estate = new Estate(clock);
  if (options.estate) estate.seed(options.estate);
  if (options.lag) estate.lag.set(options.lag);
  const permissions = new Permissions(options.readableSubscriptions, options.resourceGroupReaders);
  const paging = new Paging();
  if (options.paging) paging.set(options.paging);
  let pageHook: ((page: PageInfo) => void | Promise<void>) | undefined;
  const managementGroups = new Map(
    Object.entries(options.managementGroups ?? {}).map(([mg, subs]) => [mg.toLowerCase(), subs.map((s) => s.toLowerCase())]),
  );
  let quota: QuotaOptions = options.quota ?? { limit: 15, windowMs: 5_000 };
  let windowStart = 0;
  let usedInWindow = 0;
  let latencyMs = options.latencyMs ?? 0;
  const injected: { status: number; retryAfterSeconds: number | undefined; code: string | undefined }[] = [];
  let queries = 0;
  let throttled = 0;
  const log: RecordedRequest[] = [];

  /** Rolls the fixed window forward; returns ms until it resets. */
  function quotaWindow(): number {
    const now = Date.now();
    if (now >= windowStart + quota.windowMs) {
      windowStart = now;
      usedInWindow = 0;
    }
    return windowStart + quota.windowMs - now;
  }

  /** The quota headers as they stand, without spending any (requests refused before they count still carry them). */
  function quotaHeaders(): Record<string, string> {
    const resetsIn = quotaWindow();
    return {
      'x-ms-user-quota-remaining': String(Math.max(0, quota.limit - usedInWindow)),
      'x-ms-user-quota-resets-after': hhmmss(resetsIn),
    };
  }

  /** Consumes one unit of quota or throws the 429 Resource Graph would send. Returns the quota headers. */
  function takeQuota(): Record<string, string> {
    const resetsIn = quotaWindow();
    if (usedInWindow >= quota.limit) {
      throttled++;
      throw new HttpError(429, 'RateLimiting', 'Please provide below info when asking for support: too many requests.', {
        'retry-after': String(Math.max(1, Math.ceil(resetsIn / 1000))),
        'x-ms-user-quota-remaining': '0',
        'x-ms-user-quota-resets-after': hhmmss(resetsIn),
      });
    }
    usedInWindow++;
    return quotaHeaders();
  }

  function setQuota(next: QuotaOptions): void {
    quota = next;
    windowStart = 0;
    usedInWindow = 0;
  }

  function failNext(n: number, status: number, opts: { retryAfterSeconds?: number; code?: string } = {}): void {
    if (!Number.isInteger(n) || n < 0 || !Number.isInteger(status) || status < 400 || status > 599) {
      throw new HttpError(400, 'BadRequest', `failNext needs a count ≥ 0 and an HTTP error status, got ${n} × ${status}`);
    }
    for (let i = 0; i < n; i++) injected.push({ status, retryAfterSeconds: opts.retryAfterSeconds, code: opts.code });
  }

  /** The subscriptions a query names (undefined: tenant scope), as lower-case ids. */
  function requestedScope(body: Record<string, unknown>): string[] | undefined {
    const subs = body.subscriptions;
    const mgs = body.managementGroups;
    if (subs !== undefined && (!Array.isArray(subs) || subs.some((s) => typeof s !== 'string'))) {
      throw new HttpError(400, 'BadRequest', 'subscriptions must be an array of strings.');
    }
    if (mgs !== undefined && (!Array.isArray(mgs) || mgs.some((s) => typeof s !== 'string'))) {
      throw new HttpError(400, 'BadRequest', 'managementGroups must be an array of strings.');
    }
    let requested: string[] | undefined;
    if (Array.isArray(subs) && subs.length > 0) {
      if (subs.length > MAX_SUBSCRIPTIONS) {
        throw new HttpError(400, 'BadRequest', `Too many subscriptions: at most ${MAX_SUBSCRIPTIONS} per request.`);
      }
      requested = (subs as string[]).map((s) => s.toLowerCase());
    } else if (Array.isArray(mgs) && mgs.length > 0) {
      requested = [];
      for (const mg of mgs as string[]) {
        const members = managementGroups.get(mg.toLowerCase());
        if (!members) throw new HttpError(403, 'AuthorizationFailed', `No access to management group '${mg}'.`);
        requested.push(...members);
      }
    }
    return requested;
  }

  function rowFilter(requested: string[] | undefined): RowFilter {
    try {
      return permissions.filterFor(requested);
    } catch (error) {
      if (error instanceof AccessDenied) throw new HttpError(403, 'AuthorizationFailed', error.message);
      throw error;
    }
  }

  function scanFor(allowed: RowFilter) {
    return function* scan(table: TableName, query: Query, afterKey?: string): Generator<Row> {
      const first = query.operators[0];
      const idLookup =
        (table === 'resources' || table === 'resourcecontainers') &&
        first?.kind === 'where' &&
        first.conditions.length === 1 &&
        first.conditions[0]!.kind === 'in~' &&
        !first.conditions[0]!.negated &&
        first.conditions[0]!.column === 'id';
      const rows = idLookup
        ? estate.lookup(table, (first.conditions[0] as { values: string[] }).values)
        : estate.scan(table, afterKey);
      for (const row of rows) {
        if (allowed && !allowed(row)) continue;
        yield row;
      }
    };
  }

  async function runQuery(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (typeof body.query !== 'string' || body.query.trim() === '') {
      throw new HttpError(400, 'BadRequest', 'The request must contain a query.');
    }
    const opts = requestOptions(body);
    if (opts.$skipToken !== undefined && typeof opts.$skipToken !== 'string') {
      throw new HttpError(400, 'BadRequest', `options.$skipToken must be a string, got ${JSON.stringify(opts.$skipToken)}.`);
    }
    if (body.facets !== undefined && (!Array.isArray(body.facets) || body.facets.length > 0)) {
      throw new HttpError(400, 'BadRequest', 'The emulator does not compute facets; send none (or an empty array).');
    }
    const top = opts.$top === undefined ? MAX_TOP : opts.$top;
    if (typeof top !== 'number' || !Number.isInteger(top) || top < 1 || top > MAX_TOP) {
      throw new HttpError(400, 'BadRequest', `$top must be an integer from 1 to ${MAX_TOP}, got ${JSON.stringify(opts.$top)}.`);
    }
    if (opts.$skip !== undefined && opts.$skip !== 0) {
      throw new HttpError(400, 'BadRequest', 'The emulator does not support $skip; page with $skipToken.');
    }
    if (opts.resultFormat !== undefined && opts.resultFormat !== 'objectArray') {
      throw new HttpError(400, 'BadRequest', `The emulator serves resultFormat objectArray only, got ${JSON.stringify(opts.resultFormat)}.`);
    }
    let query: Query;
    try {
      query = parseKql(body.query);
    } catch (error) {
      if (error instanceof KqlUnsupportedError) {
        throw new HttpError(400, 'BadRequest', 'Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying.', {}, [
          { code: 'InvalidQuery', message: `Query is invalid or outside the emulated KQL subset: ${error.message}` },
        ]);
      }
      throw error;
    }
    const requested = requestedScope(body);
    // Bound to the query and the scope it names, not to what is readable: a permission change between pages
    // filters rows, as Resource Graph does, rather than invalidating the token.
    const binding = createHash('sha256')
      .update(JSON.stringify([body.query, requested ? [...requested].sort() : null]))
      .digest('hex')
      .slice(0, 16);
    let token: PageToken | undefined;
    if (typeof opts.$skipToken === 'string') {
      token = decodeToken(opts.$skipToken);
      if (!token) throw new HttpError(400, 'BadRequest', 'The $skipToken is not valid.');
      if (token.h !== binding) throw new HttpError(400, 'BadRequest', 'The $skipToken does not belong to this query.');
    }
    const pageNumber = (token?.p ?? 0) + 1;
    if (pageHook) await pageHook({ table: query.table, page: pageNumber, query: body.query });
    const scan = scanFor(rowFilter(requested));

    const last = query.operators[query.operators.length - 1];
    const streamable =
      (query.table === 'resources' || query.table === 'resourcecontainers') &&
      last?.kind === 'orderBy' &&
      last.column === 'id' &&
      query.operators.slice(0, -1).every(isRowOperator) &&
      !(query.operators[0]?.kind === 'where' && query.operators[0].conditions.some((c) => c.kind === 'in~' && c.column === 'id'));
    const rowOps = query.operators.slice(0, -1);
    const { page, total, next } = servePage({
      // Streamable queries page straight off the sorted index: O(page) per keyset page after the first.
      ...(streamable
        ? {
            scan: (afterKey?: string) => scan(query.table, query, afterKey),
            project: (raw: Row) => rowOps.reduce<Row | undefined>((row, op) => (row ? applyRowOperator(row, op) : undefined), raw),
          }
        : { rows: () => evaluate(query, (table, q) => scan(table, q)) }),
      ...(last?.kind === 'orderBy' ? { orderColumn: last.column } : {}),
      token,
      size: paging.pageSize(top),
      mode: paging.mode,
      binding,
    });
    // Resource Graph can only hand out a $skipToken for rows it can order by id; otherwise a result larger than
    // one page is cut off and flagged, which readers must treat as a partial read.
    const truncated = next !== undefined && page.some((row) => !('id' in row));
    const response: Record<string, unknown> = {
      totalRecords: total,
      count: page.length,
      resultTruncated: truncated ? 'true' : 'false',
      facets: [],
      data: page,
    };
    if (next && !truncated) {
      response.$skipToken = encodeToken(next);
      // The estate changes between this page and the next (churn rules, per-page churn).
      paging.afterPage(estate, query.table, pageNumber);
    }
    return response;
  }

  function replayFor(body: Record<string, unknown>): { status: number; body: unknown } {
    const opts = requestOptions(body);
    const entry = options.replay!.find(
      (e) => e.query === body.query && (e.skipToken ?? undefined) === (opts.$skipToken ?? undefined),
    );
    if (!entry) throw new HttpError(400, 'BadRequest', 'No replay entry matches this query and $skipToken.');
    return { status: entry.status ?? 200, body: entry.body };
  }

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'x-ms-request-id': randomUUID(),
      ...headers,
    });
    res.end(text);
  }

  const errorBody = (code: string, message: string, details: ErrorDetail[] = []) => ({
    error: { code, message, ...(details.length > 0 ? { details } : {}) },
  });

  async function handleQuery(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    queries++;
    let recorded: RecordedRequest = { query: '', status: 0 };
    log.push(recorded);
    if (log.length > 10_000) log.shift();
    // Every answer from the query endpoint carries the quota headers, as Resource Graph's do; requests refused
    // before they are counted report the quota without spending it.
    let headers = quotaHeaders();
    try {
      if (url.searchParams.get('api-version') !== API_VERSION) {
        throw new HttpError(400, 'InvalidApiVersionParameter', `api-version must be ${API_VERSION}.`);
      }
      if (!/^Bearer \S+$/.test(req.headers.authorization ?? '')) {
        throw new HttpError(401, 'AuthenticationFailed', 'Authentication failed: the Authorization header is missing.');
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(await readBody(req));
      } catch {
        throw new HttpError(400, 'BadRequest', 'The request body is not valid JSON.');
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new HttpError(400, 'BadRequest', 'The request body must be a JSON object (QueryRequest).');
      }
      const body = parsed as Record<string, unknown>;
      recorded = {
        query: String(body.query ?? ''),
        ...(Array.isArray(body.subscriptions) ? { subscriptions: body.subscriptions as string[] } : {}),
        ...(Array.isArray(body.managementGroups) ? { managementGroups: body.managementGroups as string[] } : {}),
        ...(body.options ? { options: body.options as Record<string, unknown> } : {}),
        status: 0,
      };
      log[log.length - 1] = recorded;
      const failure = injected.shift();
      if (failure) {
        const retry: Record<string, string> =
          failure.status === 429 || failure.status === 503 ? { 'retry-after': String(failure.retryAfterSeconds ?? 1) } : {};
        throw new HttpError(failure.status, failure.code ?? (failure.status >= 500 ? 'InternalServerError' : 'InjectedFailure'), `Injected failure (${failure.status}).`, retry);
      }
      headers = takeQuota();
      if (latencyMs > 0) {
        await sleep(latencyMs);
        // The quota is spent when the query arrives, but the reset countdown is stamped when the answer leaves, as a
        // client reading it then would expect.
        headers['x-ms-user-quota-resets-after'] = hhmmss(Math.max(0, windowStart + quota.windowMs - Date.now()));
      }
      if (options.replay) {
        const replayed = replayFor(body);
        recorded.status = replayed.status;
        send(res, replayed.status, replayed.body, headers);
        return;
      }
      const result = await runQuery(body);
      recorded.status = 200;
      send(res, 200, result, headers);
    } catch (error) {
      if (error instanceof HttpError) {
        recorded.status = error.status;
        send(res, error.status, errorBody(error.code, error.message, error.details), { ...headers, ...error.headers });
        return;
      }
      recorded.status = 500;
      send(res, 500, errorBody('InternalServerError', error instanceof Error ? error.message : String(error)), headers);
    }
  }

  async function serveControl(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const route = url.pathname.slice('/_emulator/'.length);
    try {
      const text = await readBody(req);
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : {};
      } catch {
        throw new ControlError(400, 'the control body is not valid JSON');
      }
      return send(res, 200, handleControl(control, req.method ?? 'GET', route, body));
    } catch (error) {
      if (error instanceof ControlError) return send(res, error.status, errorBody(error.status === 404 ? 'NotFound' : 'BadRequest', error.message));
      return send(res, 400, errorBody('BadRequest', error instanceof Error ? error.message : String(error)));
    }
  }

  const arm = new ArmRoutes({ currentRow: (id) => estate.currentRow(id), resourceTypes: () => estate.resourceTypes() }, send);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/_emulator/arm') {
      void readBody(req).then((text) => {
        try {
          if (req.method === 'POST') arm.setThrottle(text ? (JSON.parse(text) as Record<string, number>) : {});
          send(res, 200, arm.describe());
        } catch (error) {
          send(res, 400, errorBody('BadRequest', error instanceof Error ? error.message : String(error)));
        }
      });
    } else if (arm.matches(req.method, url)) {
      arm.handle(req, res, url);
    } else if (url.pathname.startsWith('/_emulator/')) {
      void serveControl(req, res, url);
    } else if (req.method === 'POST' && url.pathname.toLowerCase() === RESOURCES_PATH) {
      void handleQuery(req, res, url);
    } else {
      send(res, 404, errorBody('NotFound', `The emulator does not serve ${req.method} ${url.pathname}`));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const api: ResourceGraphEmulator = {
    url: `http://127.0.0.1:${port}`,
    credential: staticTestCredential(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
    upsertSubscription: (row) => estate.upsertSubscription(row),
    upsertResourceGroup: (row) => estate.upsertResourceGroup(row),
    upsertResource: (row) => estate.upsertResource(row),
    deleteResource: (id) => estate.deleteResource(id),
    deleteResourceGroup: (id) => estate.deleteResourceGroup(id),
    moveResources: (source, ids, target) => estate.moveResources(source, ids, target),
    seed: (snapshot) => estate.seed(snapshot),
    setLag: (lag) => estate.lag.set(lag),
    lag: () => estate.lag.describe(),
    setPaging: (next) => paging.set(next),
    paging: () => paging.describe(),
    setPageHook: (hook) => {
      pageHook = hook;
    },
    now: () => new Date(clock.now()),
    advance: (ms) => clock.advance(ms),
    setNow: (date) => clock.setNow(date),
    setQuota,
    setLatency: (ms) => {
      latencyMs = ms;
    },
    failNext,
    setReadableSubscriptions: (ids) => permissions.setReadable(ids),
    revokeSubscriptions: (ids) => permissions.revoke(ids),
    grantSubscriptions: (ids) => permissions.grant(ids),
    grantResourceGroups: (subscription, groups) => permissions.grantResourceGroups(subscription, groups),
    permissions: () => permissions.describe(),
    queryCount: () => queries,
    throttledCount: () => throttled,
    requests: () => [...log],
    estate: () => estate.snapshot(),
    visibleAt: (id) => {
      const at = estate.visibleAt(id);
      return at === undefined ? undefined : new Date(at);
    },
    rows: () => {
      const s = estate.snapshot();
      return [...s.subscriptions, ...s.resourceGroups, ...s.resources];
    },
    arm,
  };
  const control: ControlTarget = {
    ...api,
    estate,
    permissions,
    stats: () => ({ queryCount: queries, throttledCount: throttled, now: new Date(clock.now()).toISOString() }),
    quota: () => quota,
    pendingFailures: () => injected.length,
  };
  return api;
}
