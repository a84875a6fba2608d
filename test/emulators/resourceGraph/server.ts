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
import { Estate, key as estateKey, type EstateSnapshot, type Lag } from './estate.js';
import {
  KqlUnsupportedError,
  applyRowOperator,
  evaluate,
  isRowOperator,
  parseKql,
  sortKey,
  type Query,
  type Row,
  type TableName,
} from './kql.js';

export const API_VERSION = '2024-04-01';
const RESOURCES_PATH = '/providers/microsoft.resourcegraph/resources';
const MAX_TOP = 1000;
const MAX_SUBSCRIPTIONS = 1000;

export { EMULATOR_TOKEN, staticTestCredential } from './credential.js';

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
  /** Management group name → subscription ids, for `managementGroups` scoped queries. */
  managementGroups?: Record<string, string[]>;
  quota?: QuotaOptions;
  latencyMs?: number;
  lag?: Partial<Lag>;
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
  setLag(lag: Partial<Lag>): void;
  now(): Date;
  advance(ms: number): void;
  setNow(date: Date): void;
  setQuota(quota: QuotaOptions): void;
  setLatency(ms: number): void;
  /** The next n resource queries fail with `status` (ARG-shaped error body; 429/503 carry Retry-After). */
  failNext(n: number, status: number, options?: { retryAfterSeconds?: number; code?: string }): void;
  setReadableSubscriptions(ids: string[] | undefined): void;
  /** Every POST to the resources endpoint, throttled and failed ones included. */
  queryCount(): number;
  /** 429s served because the quota was exhausted (not injected ones). */
  throttledCount(): number;
  requests(): RecordedRequest[];
  /** True current state (no lag), as the app's queries project it. */
  estate(): EstateSnapshot;
  rows(): ArgRow[];
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

interface PageToken {
  v: 1;
  /** Binds the token to the query and scope it was issued for. */
  h: string;
  /** Sort key of the last row served; the next page starts after it. */
  k: string;
  /** totalRecords computed on the first page. */
  t: number;
}

const encodeToken = (token: PageToken) => Buffer.from(JSON.stringify(token)).toString('base64');
function decodeToken(raw: string): PageToken {
  try {
    const token = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as PageToken;
    if (token.v === 1 && typeof token.h === 'string' && typeof token.k === 'string' && typeof token.t === 'number') return token;
  } catch {
    // fall through
  }
  throw new HttpError(400, 'BadRequest', 'The $skipToken is not valid.');
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
  if (options.lag) estate.lag = { ...estate.lag, ...options.lag };
  let readable: Set<string> | undefined = options.readableSubscriptions
    ? new Set(options.readableSubscriptions.map((s) => s.toLowerCase()))
    : undefined;
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

  function scopeFilter(body: Record<string, unknown>): Set<string> | undefined {
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
    if (requested === undefined) return readable; // tenant scope: everything readable
    const allowed = new Set(requested.filter((s) => !readable || readable.has(s)));
    if (allowed.size === 0) {
      throw new HttpError(
        403,
        'AuthorizationFailed',
        'The client does not have authorization to perform action over any of the requested scopes.',
      );
    }
    return allowed;
  }

  function scanFor(allowed: Set<string> | undefined) {
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
        if (allowed && !allowed.has(sortKey(row.subscriptionId))) continue;
        yield row;
      }
    };
  }

  function runQuery(body: Record<string, unknown>): Record<string, unknown> {
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
    const allowed = scopeFilter(body);
    const binding = createHash('sha256')
      .update(JSON.stringify([body.query, allowed ? [...allowed].sort() : null]))
      .digest('hex')
      .slice(0, 16);
    const token = typeof opts.$skipToken === 'string' ? decodeToken(opts.$skipToken) : undefined;
    if (token && token.h !== binding) throw new HttpError(400, 'BadRequest', 'The $skipToken does not belong to this query.');
    const scan = scanFor(allowed);

    const last = query.operators[query.operators.length - 1];
    const streamable =
      (query.table === 'resources' || query.table === 'resourcecontainers') &&
      last?.kind === 'orderBy' &&
      last.column === 'id' &&
      query.operators.slice(0, -1).every(isRowOperator) &&
      !(query.operators[0]?.kind === 'where' && query.operators[0].conditions.some((c) => c.kind === 'in~' && c.column === 'id'));

    let page: Row[] = [];
    let total: number;
    let more = false;
    let lastKey = '';
    if (streamable) {
      // Keyset paging straight off the sorted index: O(page) per request after the first.
      const rowOps = query.operators.slice(0, -1);
      const project = (raw: Row): Row | undefined => {
        let row: Row | undefined = raw;
        for (const op of rowOps) {
          row = applyRowOperator(row, op);
          if (!row) return undefined;
        }
        return row;
      };
      if (token) total = token.t;
      else {
        total = 0;
        for (const raw of scan(query.table, query)) if (project(raw)) total++;
      }
      for (const raw of scan(query.table, query, token?.k)) {
        const row = project(raw);
        if (!row) continue;
        if (page.length === top) {
          more = true;
          break;
        }
        page.push(row);
        lastKey = estateKey(String(raw.id));
      }
    } else {
      const rows = evaluate(query, (table, q) => scan(table, q));
      const orderColumn = last?.kind === 'orderBy' ? last.column : undefined;
      total = token ? token.t : rows.length;
      let start = 0;
      if (token) {
        if (orderColumn) {
          while (start < rows.length && sortKey(rows[start]![orderColumn]) <= token.k) start++;
        } else start = Number(token.k);
      }
      page = rows.slice(start, start + top);
      more = start + top < rows.length;
      lastKey = orderColumn ? sortKey(page[page.length - 1]?.[orderColumn]) : String(start + page.length);
    }
    // Resource Graph can only hand out a $skipToken for rows it can order by id; otherwise a result larger than
    // one page is cut off and flagged, which readers must treat as a partial read.
    const truncated = more && page.some((row) => !('id' in row));
    const response: Record<string, unknown> = {
      totalRecords: total,
      count: page.length,
      resultTruncated: truncated ? 'true' : 'false',
      facets: [],
      data: page,
    };
    if (more && !truncated) response.$skipToken = encodeToken({ v: 1, h: binding, k: lastKey, t: total });
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
      const result = runQuery(body);
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

  async function handleControl(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const route = url.pathname.slice('/_emulator/'.length);
    try {
      if (req.method === 'GET' && route === 'estate') return send(res, 200, estate.snapshot());
      if (req.method === 'GET' && route === 'stats') {
        return send(res, 200, { queryCount: queries, throttledCount: throttled, now: new Date(clock.now()).toISOString() });
      }
      if (req.method !== 'POST') throw new HttpError(404, 'NotFound', `No control route ${req.method} /_emulator/${route}`);
      const body = JSON.parse((await readBody(req)) || '{}') as Record<string, unknown>;
      switch (route) {
        case 'changes': {
          const ops = (Array.isArray(body) ? body : [body]) as { op: string; row?: ArgRow; id?: string }[];
          for (const { op, row, id } of ops) {
            if (op === 'upsertSubscription' && row) estate.upsertSubscription(row);
            else if (op === 'upsertResourceGroup' && row) estate.upsertResourceGroup(row);
            else if (op === 'upsertResource' && row) estate.upsertResource(row);
            else if (op === 'deleteResource' && id) estate.deleteResource(id);
            else if (op === 'deleteResourceGroup' && id) estate.deleteResourceGroup(id);
            else throw new HttpError(400, 'BadRequest', `unknown change ${JSON.stringify(op)} (or missing row/id)`);
          }
          return send(res, 200, { applied: ops.length });
        }
        case 'lag':
          estate.lag = { ...estate.lag, ...(body as Partial<Lag>) };
          return send(res, 200, estate.lag);
        case 'quota': {
          const { limit, windowMs } = body as Partial<QuotaOptions>;
          if (!Number.isInteger(limit) || limit! < 0 || !Number.isInteger(windowMs) || windowMs! < 1) {
            throw new HttpError(400, 'BadRequest', `quota needs whole numbers {limit ≥ 0, windowMs ≥ 1}, got ${JSON.stringify(body)}`);
          }
          setQuota({ limit: limit!, windowMs: windowMs! });
          return send(res, 200, quota);
        }
        case 'latency':
          if (!Number.isFinite(Number(body.ms ?? 0)) || Number(body.ms ?? 0) < 0) {
            throw new HttpError(400, 'BadRequest', `latency needs {ms ≥ 0}, got ${JSON.stringify(body)}`);
          }
          latencyMs = Number(body.ms ?? 0);
          return send(res, 200, { ms: latencyMs });
        case 'fail':
          failNext(Number(body.count ?? 1), Number(body.status ?? 500), {
            ...(body.retryAfterSeconds !== undefined ? { retryAfterSeconds: Number(body.retryAfterSeconds) } : {}),
            ...(typeof body.code === 'string' ? { code: body.code } : {}),
          });
          return send(res, 200, { pending: injected.length });
        case 'advance':
          clock.advance(Number(body.ms ?? 0));
          return send(res, 200, { now: new Date(clock.now()).toISOString() });
        default:
          throw new HttpError(404, 'NotFound', `No control route POST /_emulator/${route}`);
      }
    } catch (error) {
      if (error instanceof HttpError) return send(res, error.status, errorBody(error.code, error.message));
      return send(res, 400, errorBody('BadRequest', error instanceof Error ? error.message : String(error)));
    }
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname.startsWith('/_emulator/')) {
      void handleControl(req, res, url);
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

  return {
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
    seed: (snapshot) => estate.seed(snapshot),
    setLag: (lag) => {
      estate.lag = { ...estate.lag, ...lag };
    },
    now: () => new Date(clock.now()),
    advance: (ms) => clock.advance(ms),
    setNow: (date) => clock.setNow(date),
    setQuota,
    setLatency: (ms) => {
      latencyMs = ms;
    },
    failNext,
    setReadableSubscriptions: (ids) => {
      readable = ids ? new Set(ids.map((s) => s.toLowerCase())) : undefined;
    },
    queryCount: () => queries,
    throttledCount: () => throttled,
    requests: () => [...log],
    estate: () => estate.snapshot(),
    rows: () => {
      const s = estate.snapshot();
      return [...s.subscriptions, ...s.resourceGroups, ...s.resources];
    },
  };
}
