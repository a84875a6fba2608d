/**
 * A Port REST API emulator on a real node:http server (127.0.0.1), for tests, the bench and local runs.
 * Behaviour follows ../shared/reference/port-api.md §11; control routes live under /_emulator, never /v1.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PortRequestCounts, PortRequestKind, StoredEntity } from '../../../shared/port/types.js';
import { CatalogError, PortCatalog, checkEntityId, type EntityInput, type StoredBlueprint } from './catalog.js';
import { IntegrationRouteError, IntegrationStore } from './integrations.js';
import { prng } from '../../fixtures/estate.js';

export const BODY_LIMIT_BYTES = 1024 * 1024;
export const BULK_UPSERT_LIMIT = 20;
export const BULK_DELETE_LIMIT = 100;

export interface RateLimitOptions {
  /** Requests allowed per period (Port's historical Entities API limit: 35,000 per 5 minutes). */
  limit: number;
  periodSeconds: number;
}

export interface PortEmulatorOptions {
  port?: number;
  host?: string;
  clientId?: string;
  clientSecret?: string;
  /** Token lifetime in seconds (Port: 3 hours). */
  tokenLifetimeSeconds?: number;
  rateLimit?: Partial<RateLimitOptions>;
  latencyMs?: number;
  latencyJitterMs?: number;
  /** Keep every exchange in `requests` (default true); the bench turns it off to save memory. */
  record?: boolean;
  /** Seed for the fault RNG, so random 5xx and drops repeat run to run. */
  seed?: number;
  /**
   * How a merge (`merge=true` upserts, PATCH) treats object-valued properties: 'top-level' (default, Port's
   * documented merge: each provided property replaced as a whole) or 'deep' (objects merged key by key).
   */
  mergeDepth?: MergeDepth;
  /**
   * The catalog's clock for createdAt/updatedAt (default: wall time). Tests on a manual clock pass theirs, so
   * "updated after the run started" compares times from one clock.
   */
  clock?: () => Date;
}

export type MergeDepth = 'top-level' | 'deep';

export interface FaultRule {
  /** How many matching requests get this fault (default 1). */
  count?: number;
  /** Applies to requests whose `METHOD /decoded/path` matches; a string matches as a substring of the path. */
  route?: string | RegExp;
  /** Respond with this status and a Port error body. */
  status?: number;
  /** Destroy the socket without answering. */
  drop?: boolean;
  error?: string;
  message?: string;
  /** For 429s: how the wait is expressed (default Retry-After). */
  rateLimitHeader?: 'retry-after' | 'reset-epoch' | 'reset-delta';
  /** Seconds to ask the client to wait (default 1). */
  retryAfterSeconds?: number;
}

export interface FaultOptions {
  /** Served in order: the first rule with count left that matches the request applies. */
  next?: FaultRule[];
  /** Share of requests (0..1) answered with `serverErrorStatus` (default 503). */
  serverErrorRate?: number;
  serverErrorStatus?: number;
  /** Share of requests (0..1) whose connection is dropped. */
  dropRate?: number;
}

export interface RecordedExchange {
  seq: number;
  time: string;
  method: string;
  /** Path as sent, still percent-encoded, so identifiers containing "/" stay one segment. */
  path: string;
  /** Path with each segment decoded (for reading; do not split it on "/"). */
  decodedPath: string;
  query: Record<string, string | string[]>;
  requestHeaders: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, the raw text if it did not parse, or undefined when empty. */
  body: unknown;
  bodyBytes: number;
  /** 0 when the connection was dropped on purpose. */
  status: number;
  responseBody: unknown;
  responseHeaders: Record<string, string>;
  kind: PortRequestKind;
  fault?: string;
  durationMs: number;
}

export interface PortEmulator {
  url: string;
  port: number;
  clientId: string;
  clientSecret: string;
  catalog: PortCatalog;
  requests: RecordedExchange[];
  close(): Promise<void>;
  entities(blueprint: string): StoredEntity[];
  entity(blueprint: string, identifier: string): StoredEntity | undefined;
  blueprint(identifier: string): StoredBlueprint | undefined;
  /**
   * Writes entities straight into the catalog, bypassing the API (no relation checks). Takes one blueprint and its
   * entities, or a map of blueprint → entities.
   */
  seed(blueprint: string, entities: SeedEntity[]): void;
  seed(byBlueprint: Map<string, SeedEntity[]> | Record<string, SeedEntity[]>): void;
  /** Creates a blueprint straight in the catalog; relation targets must already exist. */
  seedBlueprint(definition: Record<string, unknown>): StoredBlueprint;
  counts(): PortRequestCounts;
  resetCounts(): void;
  clearRequests(): void;
  /** Every issued token becomes invalid; the next token request gets a new one. */
  revokeTokens(): void;
  setTokenLifetime(seconds: number): void;
  setFaults(faults: FaultOptions): void;
  clearFaults(): void;
  setLatency(ms: number, jitterMs?: number): void;
  setRateLimit(limit: Partial<RateLimitOptions>): void;
  /** Switches how merges treat object-valued properties (see PortEmulatorOptions.mergeDepth). */
  setMergeDepth(depth: MergeDepth): void;
  mergeDepth(): MergeDepth;
  /** Integrations (mappings kept in Port): GET /v1/integration/{id}, PATCH …/config, POST /v1/integration. */
  integrations: IntegrationStore;
  /** Empties the catalog, tokens, recordings, counters and faults. */
  reset(): void;
}

export type SeedEntity = Partial<StoredEntity> & { identifier: string };

interface TokenRecord {
  clientId: string;
  expiresAt: number;
}



function classify(method: string, path: string): PortRequestKind {
  if (method === 'POST' && path === '/v1/auth/access_token') return 'token';
  if (method === 'POST' && /^\/v1\/blueprints\/[^/]+\/entities\/search$/.test(path)) return 'search';
  if (method === 'POST' && /^\/v1\/blueprints\/[^/]+\/entities\/bulk$/.test(path)) return 'bulkUpsert';
  if (method === 'POST' && /^\/v1\/blueprints\/[^/]+\/bulk\/entities\/delete$/.test(path)) return 'delete';
  if (method === 'DELETE' && /^\/v1\/blueprints\/[^/]+\/entities\/[^/]+$/.test(path)) return 'delete';
  return 'other';
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

function parseBool(query: URLSearchParams, name: string, required: boolean): boolean {
  const raw = query.get(name);
  if (raw === null) {
    if (required) throw new HttpError(422, 'invalid_request', `querystring must have required property '${name}'`);
    return false;
  }
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new HttpError(422, 'invalid_request', `querystring/${name} must be boolean, got "${raw}"`);
}

function checkMergeDepth(value: unknown): MergeDepth {
  if (value !== 'top-level' && value !== 'deep') throw new Error(`mergeDepth must be "top-level" or "deep", got ${JSON.stringify(value)}`);
  return value;
}

function queryRecord(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const k of new Set(params.keys())) {
    const all = params.getAll(k);
    out[k] = all.length === 1 ? all[0]! : all;
  }
  return out;
}

export async function startPortEmulator(options: PortEmulatorOptions = {}): Promise<PortEmulator> {
  const clientId = options.clientId ?? 'emulator-client-id';
  const clientSecret = options.clientSecret ?? 'emulator-client-secret';
  let tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 10_800;
  let rateLimit: RateLimitOptions = { limit: 35_000, periodSeconds: 300, ...options.rateLimit };
  let latencyMs = options.latencyMs ?? 0;
  let latencyJitterMs = options.latencyJitterMs ?? 0;
  const record = options.record ?? true;
  let random = prng(options.seed ?? 42);
  let mergeDepth: MergeDepth = checkMergeDepth(options.mergeDepth ?? 'top-level');

  let catalog = new PortCatalog(options.clock);
  let integrations = new IntegrationStore();
  const tokens = new Map<string, TokenRecord>();
  const activeToken = new Map<string, string>();
  const requests: RecordedExchange[] = [];
  const zeroCounts = (): Record<PortRequestKind, number> => ({ token: 0, search: 0, bulkUpsert: 0, delete: 0, other: 0 });
  let counts = zeroCounts();
  let seq = 0;
  let window = { start: 0, used: 0 };
  let faults: { rules: (FaultRule & { left: number })[]; serverErrorRate: number; serverErrorStatus: number; dropRate: number } = {
    rules: [],
    serverErrorRate: 0,
    serverErrorStatus: 503,
    dropRate: 0,
  };

  const rateHeaders = (now: number): Record<string, string> => {
    const resetMs = window.start + rateLimit.periodSeconds * 1000;
    return {
      'x-ratelimit-period': String(rateLimit.periodSeconds),
      'x-ratelimit-limit': String(rateLimit.limit),
      'x-ratelimit-remaining': String(Math.max(0, rateLimit.limit - window.used)),
      'x-ratelimit-reset': String(Math.ceil((window.start ? resetMs : now + rateLimit.periodSeconds * 1000) / 1000)),
    };
  };

  /** Counts the request in the current window; false when it is over the limit. */
  const takeRateLimit = (now: number): boolean => {
    if (now >= window.start + rateLimit.periodSeconds * 1000) window = { start: now, used: 0 };
    window.used++;
    return window.used <= rateLimit.limit;
  };

  const issueToken = (id: string): { token: string; expiresIn: number } => {
    const now = Date.now();
    const existing = activeToken.get(id);
    const rec = existing ? tokens.get(existing) : undefined;
    if (existing && rec && rec.expiresAt > now) {
      // Port: one active token per credential pair; later requests get the same one while it lasts.
      return { token: existing, expiresIn: Math.floor((rec.expiresAt - now) / 1000) };
    }
    const exp = now + tokenLifetimeSeconds * 1000;
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: id, isMachine: true, exp: Math.floor(exp / 1000), jti: randomUUID() })}.emulator`;
    tokens.set(token, { clientId: id, expiresAt: exp });
    activeToken.set(id, token);
    return { token, expiresIn: tokenLifetimeSeconds };
  };

  const authenticate = (req: http.IncomingMessage): string => {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw new HttpError(401, 'unauthorized', 'Missing or malformed Authorization header (expected "Bearer <token>")');
    const rec = tokens.get(match[1]!);
    if (!rec) throw new HttpError(401, 'unauthorized', 'The access token is invalid or has been revoked');
    if (rec.expiresAt <= Date.now()) throw new HttpError(401, 'unauthorized', 'The access token has expired');
    return rec.clientId;
  };

  const pickFault = (method: string, path: string): FaultRule | undefined => {
    const target = `${method} ${path}`;
    for (const rule of faults.rules) {
      if (rule.left <= 0) continue;
      const r = rule.route;
      if (r !== undefined && !(typeof r === 'string' ? path.includes(r) : r.test(target))) continue;
      rule.left--;
      return rule;
    }
    if (faults.dropRate > 0 && random() < faults.dropRate) return { drop: true };
    if (faults.serverErrorRate > 0 && random() < faults.serverErrorRate) {
      return { status: faults.serverErrorStatus, error: 'internal_error', message: 'Injected server error' };
    }
    return undefined;
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A bug in the emulator must be loud in tests, not a hung request.
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json', 'x-trace-id': randomUUID(), ...rateHeaders(Date.now()) });
        res.end(JSON.stringify({ ok: false, error: 'emulator_error', message: String((error as Error)?.stack ?? error) }));
      } else {
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 5_000;

  async function readBody(req: http.IncomingMessage): Promise<{ text: string; bytes: number; tooLarge: boolean }> {
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of req) {
      bytes += (chunk as Buffer).length;
      if (bytes <= BODY_LIMIT_BYTES) chunks.push(chunk as Buffer);
    }
    return { text: bytes <= BODY_LIMIT_BYTES ? Buffer.concat(chunks).toString('utf8') : '', bytes, tooLarge: bytes > BODY_LIMIT_BYTES };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = Date.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://emulator');
    const rawPath = url.pathname;
    let path: string;
    try {
      path = rawPath.split('/').map((s) => decodeURIComponent(s)).join('/');
    } catch {
      path = rawPath;
    }
    const { text, bytes, tooLarge } = await readBody(req);

    if (rawPath.startsWith('/_emulator/') || rawPath === '/_emulator') {
      return control(method, rawPath, url.searchParams, text, res);
    }

    const traceId = randomUUID();
    const kind = classify(method, rawPath);
    counts[kind]++;
    let body: unknown;
    let malformedJson = false;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
        malformedJson = true;
      }
    }
    const exchange: RecordedExchange = {
      seq: ++seq,
      time: new Date(started).toISOString(),
      method,
      path: rawPath,
      decodedPath: path,
      query: queryRecord(url.searchParams),
      requestHeaders: { ...req.headers, authorization: req.headers.authorization ? '<redacted>' : undefined },
      body,
      bodyBytes: bytes,
      status: 0,
      responseBody: undefined,
      responseHeaders: {},
      kind,
      durationMs: 0,
    };
    if (record) requests.push(exchange);

    if (latencyMs > 0 || latencyJitterMs > 0) {
      await new Promise((r) => setTimeout(r, latencyMs + Math.floor(random() * latencyJitterMs)));
    }

    const send = (status: number, payload: unknown, extra: Record<string, string> = {}) => {
      const now = Date.now();
      const headers: Record<string, string> = {
        'content-type': 'application/json; charset=utf-8',
        'x-trace-id': traceId,
        ...rateHeaders(now),
        ...extra,
      };
      const json = payload === undefined ? '' : JSON.stringify(payload);
      headers['content-length'] = String(Buffer.byteLength(json));
      exchange.status = status;
      exchange.responseBody = payload;
      exchange.responseHeaders = headers;
      exchange.durationMs = now - started;
      res.writeHead(status, headers);
      res.end(json);
    };
    const fail = (status: number, error: string, message: string, extra?: Record<string, string>) =>
      send(status, { ok: false, error, message }, extra);

    const fault = pickFault(method, path);
    if (fault?.drop) {
      exchange.fault = 'drop';
      exchange.durationMs = Date.now() - started;
      req.socket.destroy();
      return;
    }
    const now = Date.now();
    const withinLimit = takeRateLimit(now);
    if (fault?.status) {
      exchange.fault = `status ${fault.status}`;
      const extra: Record<string, string> = {};
      if (fault.status === 429) {
        const wait = fault.retryAfterSeconds ?? 1;
        const form = fault.rateLimitHeader ?? 'retry-after';
        if (form === 'retry-after') {
          extra['retry-after'] = String(wait);
        } else {
          // The reset forms describe an exhausted window that reopens after `wait` seconds.
          extra['x-ratelimit-reset'] = String(form === 'reset-epoch' ? Math.ceil(now / 1000 + wait) : wait);
          extra['x-ratelimit-remaining'] = '0';
        }
      }
      return fail(fault.status, fault.error ?? (fault.status === 429 ? 'rate_limit_exceeded' : 'injected_fault'), fault.message ?? `Injected ${fault.status}`, extra);
    }
    if (!withinLimit) {
      return fail(429, 'rate_limit_exceeded', `Rate limit of ${rateLimit.limit} requests per ${rateLimit.periodSeconds}s exceeded`);
    }
    if (tooLarge) return fail(413, 'payload_too_large', 'Request body is too large (limit is 1MiB)');
    if (malformedJson) return fail(422, 'invalid_request', 'body is not valid JSON');

    try {
      route(method, rawPath, url.searchParams, body, req, send);
    } catch (error) {
      if (error instanceof HttpError || error instanceof CatalogError || error instanceof IntegrationRouteError) return fail(error.status, error.error, error.message);
      throw error;
    }
  }

  function route(
    method: string,
    rawPath: string,
    query: URLSearchParams,
    body: unknown,
    req: http.IncomingMessage,
    send: (status: number, payload: unknown, extra?: Record<string, string>) => void,
  ): void {
    // Identifiers may contain "/" (sent as %2F), so split the raw path first and decode each segment after.
    const segments = rawPath.split('/').map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        throw new HttpError(422, 'invalid_request', `path segment "${s}" is not valid percent-encoding`);
      }
    });
    const path = segments.join('/');
    const [, v1, a, b, c, d, e, ...rest] = segments;
    if (v1 !== 'v1') throw new HttpError(404, 'not_found', `Route ${method} ${path} not found`);

    if (a === 'auth' && b === 'access_token' && c === undefined && method === 'POST') {
      const creds = (body ?? {}) as Record<string, unknown>;
      if (typeof creds !== 'object' || typeof creds.clientId !== 'string' || typeof creds.clientSecret !== 'string') {
        throw new HttpError(422, 'invalid_request', "body must have required properties 'clientId' and 'clientSecret'");
      }
      const extra = Object.keys(creds).filter((k) => k !== 'clientId' && k !== 'clientSecret');
      if (extra.length) throw new HttpError(422, 'invalid_request', `body must NOT have additional properties (${extra.join(', ')})`);
      if (creds.clientId !== clientId || creds.clientSecret !== clientSecret) {
        throw new HttpError(401, 'unauthorized', 'Invalid client credentials');
      }
      const { token, expiresIn } = issueToken(creds.clientId);
      return send(200, { ok: true, accessToken: token, expiresIn, tokenType: 'Bearer' });
    }

    const actor = authenticate(req);

    if (a === 'blueprints' && b === undefined) {
      if (method === 'GET') return send(200, { ok: true, blueprints: catalog.listBlueprints() });
      if (method === 'POST') {
        parseBool(query, 'create_catalog_page', false);
        return send(201, { ok: true, blueprint: catalog.createBlueprint(body, actor) });
      }
    }
    if (a === 'blueprints' && b !== undefined && c === undefined) {
      if (method === 'GET') return send(200, { ok: true, blueprint: catalog.requireBlueprint(b) });
      if (method === 'PATCH') return send(200, { ok: true, blueprint: catalog.updateBlueprint(b, body, false, actor) });
      if (method === 'PUT') return send(200, { ok: true, blueprint: catalog.updateBlueprint(b, body, true, actor) });
      if (method === 'DELETE') {
        catalog.deleteBlueprint(b);
        return send(200, { ok: true });
      }
    }
    if (a === 'blueprints' && b !== undefined && c === 'entities' && d === undefined) {
      if (method === 'GET') {
        return send(200, { ok: true, entities: [...catalog.entityMap(b).values()] });
      }
      if (method === 'POST') {
        // A plain create has no query parameters at all (DOCS api.md): `upsert` defaults to false, and an
        // existing identifier then answers 409.
        const mode = writeMode(query, actor, false);
        const input = (body ?? {}) as EntityInput;
        if (typeof input !== 'object' || Array.isArray(input)) throw new HttpError(422, 'invalid_request', 'body must be an entity object');
        const { entity } = catalog.upsert(b, input, mode);
        return send(201, { ok: true, entity });
      }
    }
    if (a === 'blueprints' && b !== undefined && c === 'entities' && d === 'bulk' && e === undefined && method === 'POST') {
      return bulkUpsert(b, query, body, actor, send);
    }
    if (a === 'blueprints' && b !== undefined && c === 'entities' && d === 'search' && e === undefined && method === 'POST') {
      const search = (body ?? {}) as Record<string, unknown>;
      if (typeof search !== 'object' || Array.isArray(search)) throw new HttpError(422, 'invalid_request', 'body must be an object');
      const unknown = Object.keys(search).filter((k) => !['query', 'include', 'exclude', 'limit', 'from'].includes(k));
      if (unknown.length) throw new HttpError(422, 'invalid_request', `body must NOT have additional properties (${unknown.join(', ')})`);
      const page = catalog.search(b, search);
      return send(200, { ok: true, entities: page.entities, ...(page.next ? { next: page.next } : {}) });
    }
    if (a === 'blueprints' && b !== undefined && c === 'entities' && d !== undefined && d !== 'bulk' && d !== 'search' && e === undefined) {
      if (method === 'GET') {
        const found = catalog.entityMap(b).get(d);
        if (!found) throw new HttpError(404, 'not_found', `Entity "${d}" was not found in blueprint "${b}"`);
        return send(200, { ok: true, entity: found });
      }
      if (method === 'PUT' || method === 'PATCH') {
        // Full replace (PUT) or partial update (PATCH) of an existing entity; the path names it.
        if (!catalog.entityMap(b).has(d)) throw new HttpError(404, 'not_found', `Entity "${d}" was not found in blueprint "${b}"`);
        const input = (body ?? {}) as EntityInput;
        if (typeof input !== 'object' || Array.isArray(input)) throw new HttpError(422, 'invalid_request', 'body must be an entity object');
        if (input.identifier !== undefined && input.identifier !== d) {
          throw new HttpError(422, 'invalid_request', 'body/identifier must match the identifier in the path');
        }
        const { entity } = catalog.upsert(b, { ...input, identifier: d }, {
          upsert: true,
          merge: method === 'PATCH',
          mergeDepth,
          createMissingRelatedEntities: parseBool(query, 'create_missing_related_entities', false),
          actor,
        });
        return send(200, { ok: true, entity });
      }
      if (method === 'DELETE') {
        const deleteDependents = parseBool(query, 'delete_dependents', true);
        if (!catalog.entityMap(b).has(d)) throw new HttpError(404, 'not_found', `Entity "${d}" was not found in blueprint "${b}"`);
        catalog.deleteEntities(b, [d], deleteDependents);
        return send(200, { ok: true });
      }
    }
    if (a === 'blueprints' && b !== undefined && c === 'bulk' && d === 'entities' && e === 'delete' && rest.length === 0 && method === 'POST') {
      const deleteDependents = parseBool(query, 'delete_dependents', true);
      const ids = (body as { entities?: unknown } | undefined)?.entities;
      if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) {
        throw new HttpError(422, 'invalid_request', 'body/entities must be an array of entity identifiers');
      }
      if (ids.length < 1 || ids.length > BULK_DELETE_LIMIT) {
        throw new HttpError(422, 'invalid_request', `body/entities must have 1 to ${BULK_DELETE_LIMIT} items, got ${ids.length}`);
      }
      const deleted = catalog.deleteEntities(b, ids as string[], deleteDependents);
      return send(200, { ok: true, deletedEntities: deleted });
    }
    if (a === 'blueprints' && b !== undefined && c === 'entities-count' && d === undefined && method === 'GET') {
      return send(200, { ok: true, count: catalog.entityMap(b).size });
    }
    if (a === 'blueprints' && b !== undefined && c === 'all-entities' && d === undefined && method === 'DELETE') {
      const migrationId = catalog.deleteAllEntities(b, parseBool(query, 'delete_blueprint', false));
      return send(200, { ok: true, migrationId });
    }
    if (a === 'integration') {
      const handled = integrations.handle(method, segments.slice(3), body, actor);
      if (handled) return send(handled.status, handled.payload);
    }
    if (a === 'migrations' && b !== undefined && c === undefined && method === 'GET') {
      const m = catalog.migrations.get(b);
      if (!m) throw new HttpError(404, 'not_found', `Migration "${b}" was not found`);
      return send(200, { ok: true, migration: m });
    }
    throw new HttpError(404, 'not_found', `Route ${method} ${path} not found`);
  }

  function writeMode(query: URLSearchParams, actor: string, upsertRequired: boolean) {
    return {
      upsert: parseBool(query, 'upsert', upsertRequired),
      merge: parseBool(query, 'merge', false),
      mergeDepth,
      createMissingRelatedEntities: parseBool(query, 'create_missing_related_entities', false),
      actor,
    };
  }

  function bulkUpsert(
    bp: string,
    query: URLSearchParams,
    body: unknown,
    actor: string,
    send: (status: number, payload: unknown) => void,
  ): void {
    const mode = writeMode(query, actor, true);
    const list = (body as { entities?: unknown } | undefined)?.entities;
    if (!body || typeof body !== 'object' || !Array.isArray(list)) {
      throw new HttpError(422, 'invalid_request', "body must have required property 'entities' (an array)");
    }
    if (list.length < 1 || list.length > BULK_UPSERT_LIMIT) {
      throw new HttpError(422, 'invalid_request', `body/entities must have 1 to ${BULK_UPSERT_LIMIT} items, got ${list.length}`);
    }
    // Route-schema checks fail the whole request, as Port's schema validation does, before any entity is written.
    list.forEach((entity, i) => {
      if (!entity || typeof entity !== 'object' || Array.isArray(entity)) {
        throw new HttpError(422, 'invalid_request', `body/entities/${i} must be an object`);
      }
      const id = (entity as EntityInput).identifier;
      if (typeof id === 'string') {
        try {
          checkEntityId(id, `body/entities/${i}/identifier`);
        } catch (error) {
          if (error instanceof CatalogError) throw new HttpError(422, 'invalid_request', error.message);
          throw error;
        }
      }
    });
    catalog.requireBlueprint(bp);
    const entities: { identifier: string; index: number; created: boolean }[] = [];
    const errors: { identifier: string; index: number; statusCode: number; error: string; message: string }[] = [];
    list.forEach((input: EntityInput, index) => {
      const identifier = typeof input.identifier === 'string' ? input.identifier : 'unknown';
      try {
        const { created } = catalog.upsert(bp, input, mode);
        entities.push({ identifier, index, created });
      } catch (error) {
        if (!(error instanceof CatalogError)) throw error;
        errors.push({ identifier, index, statusCode: error.status, error: error.error, message: error.message });
      }
    });
    send(errors.length === 0 ? 200 : 207, { ok: errors.length === 0, entities, errors });
  }

  function control(method: string, path: string, query: URLSearchParams, text: string, res: http.ServerResponse): void {
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      return reply(400, { ok: false, error: 'invalid_json', message: 'control body must be JSON' });
    }
    try {
      if (method === 'GET' && path === '/_emulator/requests') {
        const since = Number(query.get('since') ?? 0);
        return reply(200, { ok: true, requests: requests.filter((r) => r.seq > since) });
      }
      if (method === 'GET' && path === '/_emulator/counts') return reply(200, { ok: true, counts: emulator.counts() });
      if (method === 'POST' && path === '/_emulator/reset') {
        emulator.reset();
        return reply(200, { ok: true });
      }
      if (method === 'POST' && path === '/_emulator/revoke-tokens') {
        emulator.revokeTokens();
        return reply(200, { ok: true });
      }
      if (method === 'POST' && path === '/_emulator/faults') {
        const next = Array.isArray(body.next)
          ? (body.next as Record<string, unknown>[]).map((r) => ({
              ...r,
              ...(typeof r.route === 'string' && r.route.startsWith('/') && r.route.endsWith('/') && r.route.length > 2
                ? { route: new RegExp(r.route.slice(1, -1)) }
                : {}),
            }))
          : undefined;
        emulator.setFaults({ ...(body as FaultOptions), ...(next ? { next: next as FaultRule[] } : {}) });
        return reply(200, { ok: true });
      }
      if (method === 'DELETE' && path === '/_emulator/faults') {
        emulator.clearFaults();
        return reply(200, { ok: true });
      }
      if (path === '/_emulator/merge' && (method === 'GET' || method === 'POST')) {
        if (method === 'POST') {
          try {
            emulator.setMergeDepth(body.depth as MergeDepth);
          } catch (error) {
            return reply(400, { ok: false, error: 'invalid_request', message: (error as Error).message });
          }
        }
        return reply(200, { ok: true, depth: mergeDepth });
      }
      if (method === 'POST' && path === '/_emulator/latency') {
        emulator.setLatency(Number(body.ms ?? 0), Number(body.jitterMs ?? 0));
        return reply(200, { ok: true });
      }
      const entitiesMatch = /^\/_emulator\/entities\/([^/]+)$/.exec(path);
      if (method === 'GET' && entitiesMatch) {
        return reply(200, { ok: true, entities: emulator.entities(decodeURIComponent(entitiesMatch[1]!)) });
      }
      if (method === 'POST' && entitiesMatch) {
        emulator.seed(decodeURIComponent(entitiesMatch[1]!), body.entities as StoredEntity[]);
        return reply(200, { ok: true });
      }
      const bpMatch = /^\/_emulator\/blueprints(?:\/([^/]+))?$/.exec(path);
      if (method === 'GET' && bpMatch) {
        return reply(200, bpMatch[1] ? { ok: true, blueprint: emulator.blueprint(decodeURIComponent(bpMatch[1])) ?? null } : { ok: true, blueprints: catalog.listBlueprints() });
      }
      if (method === 'POST' && bpMatch && !bpMatch[1]) return reply(200, { ok: true, blueprint: emulator.seedBlueprint(body) });
      reply(404, { ok: false, error: 'not_found', message: `No emulator control route ${method} ${path}` });
    } catch (error) {
      if (error instanceof CatalogError) return reply(error.status, { ok: false, error: error.error, message: error.message });
      throw error;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.address}:${address.port}`;

  const emulator: PortEmulator = {
    url,
    port: address.port,
    clientId,
    clientSecret,
    get catalog() {
      return catalog;
    },
    get integrations() {
      return integrations;
    },
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
    entities: (bp) => catalog.entities(bp),
    entity: (bp, id) => catalog.entity(bp, id),
    blueprint: (id) => catalog.getBlueprint(id),
    seed: (target: string | Map<string, SeedEntity[]> | Record<string, SeedEntity[]>, entities?: SeedEntity[]) => {
      if (typeof target === 'string') return catalog.seed(target, entities ?? []);
      const pairs = target instanceof Map ? [...target.entries()] : Object.entries(target);
      for (const [bp, list] of pairs) catalog.seed(bp, list);
    },
    seedBlueprint: (definition) => catalog.createBlueprint(definition, 'seed'),
    counts: () => ({ ...counts, total: counts.token + counts.search + counts.bulkUpsert + counts.delete + counts.other }),
    resetCounts: () => {
      counts = zeroCounts();
    },
    clearRequests: () => {
      requests.length = 0;
    },
    revokeTokens: () => {
      tokens.clear();
      activeToken.clear();
    },
    setTokenLifetime: (seconds) => {
      tokenLifetimeSeconds = seconds;
    },
    setFaults: (f) => {
      faults = {
        rules: (f.next ?? []).map((r) => ({ ...r, left: r.count ?? 1 })),
        serverErrorRate: f.serverErrorRate ?? 0,
        serverErrorStatus: f.serverErrorStatus ?? 503,
        dropRate: f.dropRate ?? 0,
      };
    },
    clearFaults: () => {
      faults = { rules: [], serverErrorRate: 0, serverErrorStatus: 503, dropRate: 0 };
    },
    setLatency: (ms, jitterMs = 0) => {
      latencyMs = ms;
      latencyJitterMs = jitterMs;
    },
    setRateLimit: (limit) => {
      rateLimit = { ...rateLimit, ...limit };
      window = { start: 0, used: 0 };
    },
    setMergeDepth: (depth) => {
      mergeDepth = checkMergeDepth(depth);
    },
    mergeDepth: () => mergeDepth,
    reset: () => {
      catalog = new PortCatalog(options.clock);
      integrations = new IntegrationStore();
      tokens.clear();
      activeToken.clear();
      requests.length = 0;
      counts = zeroCounts();
      window = { start: 0, used: 0 };
      random = prng(options.seed ?? 42);
      emulator.clearFaults();
    },
  };
  return emulator;
}
