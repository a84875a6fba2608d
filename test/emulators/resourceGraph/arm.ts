/**
 * ARM's read API on the Resource Graph emulator's host (the same host as management.azure.com): GET a resource, a
 * resource group or a subscription by id, and GET a resource provider (its resource types and api-versions).
 *
 * The estate is the truth and ARM shows it with no lag (Resource Graph trails it). Payloads are ARM-shaped, not
 * Resource Graph-shaped: `type` in the provider's casing taken from the id (Resource Graph lower-cases it), no
 * `resourceGroup` / `subscriptionId` / `tenantId` columns, `provisioningState` inside `properties`, and App Service
 * (`Microsoft.Web`) reporting `location` as a display name ("West Europe"), as it does. `properties` and the other
 * top-level fields a resource has (`zones`, `identity`, `plan`, `extendedLocation`) are returned as stored.
 *
 * Throttling as ARM's: a token bucket per subscription (default 250 reads, refilled 25 per second), the remaining
 * count in `x-ms-ratelimit-remaining-subscription-reads` on every answer, 429 `SubscriptionRequestsThrottled` with
 * Retry-After when empty. `setArmThrottle({forceStatus: 429})` answers every read with a 429 (unkind mode), and
 * `failNext` queues single failures. Sources: Learn azure-resource-manager/management/request-limits-and-throttling.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Row } from './kql.js';

export interface ArmThrottle {
  /** Reads per subscription in a full bucket (ARM: 250). */
  bucket: number;
  /** Tokens refilled per second (ARM: 25). */
  refillPerSecond: number;
  /** When set, every ARM read is answered with this status (429: throttled, with Retry-After). */
  forceStatus?: number;
  retryAfterSeconds?: number;
}

/** One GET the ARM routes answered: the decoded path (no query string), its api-version and the status sent. */
export interface ArmRequest {
  path: string;
  apiVersion: string | null;
  /** `provider`: GET /subscriptions/{s}/providers/{namespace} (the providers API); `read`: anything else. */
  route: 'provider' | 'read';
  status: number;
}

export interface ArmEstate {
  currentRow(id: string): Row | null;
  /** Every resource type of the estate (lower-case `namespace/type[/child]`), for the providers API. */
  resourceTypes(): string[];
}

/** api-versions the emulated providers offer, newest first, with a preview on top (clients must skip it). */
export const EMULATED_API_VERSIONS = ['2025-01-01-preview', '2024-01-01', '2023-05-01'];
export const RESOURCE_GROUP_API_VERSION = '2021-04-01';
export const SUBSCRIPTION_API_VERSION = '2022-12-01';
export const PROVIDERS_API_VERSION = '2021-04-01';

const DISPLAY_LOCATION: Record<string, string> = {
  westeurope: 'West Europe',
  northeurope: 'North Europe',
  eastus: 'East US',
  eastus2: 'East US 2',
  westus2: 'West US 2',
  uksouth: 'UK South',
  swedencentral: 'Sweden Central',
  centralus: 'Central US',
};

/** `Microsoft.Storage/storageAccounts` as the id writes it (the last provider block). */
export function armTypeFromId(id: string): string {
  const segs = id.split('/').filter(Boolean);
  const p = segs.map((s) => s.toLowerCase()).lastIndexOf('providers');
  const rest = segs.slice(p + 1);
  const types = [rest[0]!];
  for (let i = 1; i < rest.length; i += 2) types.push(rest[i]!);
  return types.join('/');
}

/** The ARM GET payload of a stored row. */
export function armPayload(row: Row): Record<string, unknown> {
  const id = String(row.id);
  const properties = { ...((row.properties as Record<string, unknown> | undefined) ?? {}) };
  const optional = (k: string) => (row[k] !== undefined && row[k] !== null && row[k] !== '' ? { [k]: row[k] } : {});
  if (row.type === 'microsoft.resources/subscriptions') {
    return {
      id,
      subscriptionId: row.subscriptionId,
      tenantId: row.tenantId,
      displayName: row.name,
      state: properties.state ?? 'Enabled',
      ...optional('tags'),
    };
  }
  if (row.type === 'microsoft.resources/subscriptions/resourcegroups') {
    return { id, name: row.name, type: 'Microsoft.Resources/resourceGroups', location: row.location, ...optional('managedBy'), ...optional('tags'), properties };
  }
  const type = armTypeFromId(id);
  const location = type.toLowerCase().startsWith('microsoft.web/') ? (DISPLAY_LOCATION[String(row.location)] ?? row.location) : row.location;
  return {
    id,
    name: row.name,
    type,
    ...(location ? { location } : {}),
    ...optional('kind'),
    ...optional('sku'),
    ...optional('managedBy'),
    ...optional('tags'),
    // Top-level fields ARM returns beside `properties` for the types that have them (Resource Graph columns too).
    ...optional('zones'),
    ...optional('identity'),
    ...optional('plan'),
    ...optional('extendedLocation'),
    properties,
  };
}

const MAX_LOGGED = 10_000;

type Send = (res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>) => void;

export class ArmRoutes {
  private throttle: ArmThrottle = { bucket: 250, refillPerSecond: 25 };
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly failures: { status: number; retryAfterSeconds: number }[] = [];
  private reads = 0;
  private throttled = 0;
  private readonly log: ArmRequest[] = [];

  constructor(
    private readonly estate: ArmEstate,
    private readonly send: Send,
  ) {}

  setThrottle(next: Partial<ArmThrottle>): void {
    this.throttle = { ...this.throttle, ...next };
    this.buckets.clear();
  }

  describe(): ArmThrottle & { reads: number; throttled: number } {
    return { ...this.throttle, reads: this.reads, throttled: this.throttled };
  }

  /** The GETs answered so far (the last 10,000), in order: a test counts providers calls with `route === 'provider'`. */
  requests(): ArmRequest[] {
    return [...this.log];
  }

  failNext(n: number, status: number, retryAfterSeconds = 1): void {
    for (let i = 0; i < n; i++) this.failures.push({ status, retryAfterSeconds });
  }

  /** GETs under /subscriptions/ that are not Resource Graph's query endpoint. */
  matches(method: string | undefined, url: URL): boolean {
    return method === 'GET' && /^\/subscriptions\//i.test(url.pathname);
  }

  handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    this.reads++;
    const path = decodeURIComponent(url.pathname).replace(/\/+$/, '');
    const subscription = /^\/subscriptions\/([^/]+)/i.exec(path)?.[1]?.toLowerCase() ?? '';
    const route = /^\/subscriptions\/[^/]+\/providers\/[^/]+$/i.test(path) ? 'provider' : 'read';
    const send: Send = (r, status, body, headers) => {
      if (this.log.length >= MAX_LOGGED) this.log.shift();
      this.log.push({ path, apiVersion: url.searchParams.get('api-version'), route, status });
      this.send(r, status, body, headers);
    };
    const error = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
      send(res, status, { error: { code, message } }, headers);
    if (!/^Bearer \S+$/.test(req.headers.authorization ?? '')) return error(401, 'AuthenticationFailed', 'Authentication failed: the Authorization header is missing.');
    const remaining = this.take(subscription);
    const headers = { 'x-ms-ratelimit-remaining-subscription-reads': String(Math.max(0, remaining)) };
    const injected = this.failures.shift();
    const forced = this.throttle.forceStatus;
    if (remaining < 0 || forced === 429 || injected?.status === 429) {
      this.throttled++;
      const retry = String(injected?.retryAfterSeconds ?? this.throttle.retryAfterSeconds ?? Math.max(1, Math.ceil(1 / this.throttle.refillPerSecond)));
      return error(429, 'SubscriptionRequestsThrottled', 'Number of read requests for subscription exceeded the limit.', { ...headers, 'retry-after': retry });
    }
    if (forced !== undefined || injected) return error(forced ?? injected!.status, 'InjectedFailure', 'Injected failure.', headers);
    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion) return error(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.", headers);

    const provider = /^\/subscriptions\/[^/]+\/providers\/([^/]+)$/i.exec(path);
    if (provider) return send(res, 200, this.providerBody(provider[1]!), headers);

    const row = this.estate.currentRow(path);
    const segs = path.split('/').filter(Boolean);
    if (segs.length === 2) {
      if (!row) return error(404, 'SubscriptionNotFound', `The subscription '${segs[1]}' could not be found.`, headers);
      return send(res, 200, armPayload(row), headers);
    }
    const group = segs.length >= 4 ? this.estate.currentRow(`/subscriptions/${segs[1]}/resourcegroups/${segs[3]}`) : null;
    if (!group) return error(404, 'ResourceGroupNotFound', `Resource group '${segs[3] ?? ''}' could not be found.`, headers);
    if (segs.length === 4) return send(res, 200, armPayload(group), headers);
    const type = armTypeFromId(path).toLowerCase();
    if (!this.estate.resourceTypes().includes(type) || !EMULATED_API_VERSIONS.includes(apiVersion)) {
      return error(400, 'NoRegisteredProviderFound', `No registered resource provider found for location and API version '${apiVersion}' and type '${type}'.`, headers);
    }
    if (!row) return error(404, 'ResourceNotFound', `The Resource '${armTypeFromId(path)}/${segs[segs.length - 1]}' under resource group '${segs[3]}' was not found.`, headers);
    return send(res, 200, armPayload(row), headers);
  }

  /** Spends one read of the subscription's bucket; returns what is left (negative: throttled). */
  private take(subscription: string): number {
    const now = Date.now();
    const b = this.buckets.get(subscription) ?? { tokens: this.throttle.bucket, at: now };
    b.tokens = Math.min(this.throttle.bucket, b.tokens + ((now - b.at) / 1000) * this.throttle.refillPerSecond);
    b.at = now;
    this.buckets.set(subscription, b);
    if (b.tokens < 1) return -1;
    b.tokens -= 1;
    return Math.floor(b.tokens);
  }

  private providerBody(namespace: string): Record<string, unknown> {
    const ns = namespace.toLowerCase();
    const types = this.estate.resourceTypes().filter((t) => t.startsWith(`${ns}/`));
    return {
      id: `/providers/${namespace}`,
      namespace,
      registrationState: 'Registered',
      resourceTypes: types.map((t) => ({ resourceType: t.slice(ns.length + 1), locations: ['West Europe'], apiVersions: EMULATED_API_VERSIONS })),
    };
  }
}
