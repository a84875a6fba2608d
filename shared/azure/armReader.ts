/**
 * Reads one resource (or resource group) straight from ARM by id, for the real-time path's sparse events: ARM has
 * the state the moment the write succeeded, Resource Graph trails it by seconds to hours. Reader role only (GETs).
 *
 * - api-version per resource type from the providers API (GET /subscriptions/{s}/providers/{namespace}), the newest
 *   non-preview version, cached per namespace for a day (misses, failed calls included, for ten minutes); one
 *   providers call per namespace however many reads want it at once, also when the cached answer expires;
 * - the tenant of a subscription (ARM resources do not carry it, Resource Graph rows do) from GET /subscriptions/{s},
 *   cached;
 * - every read spends the ArmReadBudget (armBudget.ts); a read that does not fit is `skipped`, a 429 closes the
 *   subscription for its Retry-After, and `x-ms-ratelimit-remaining-subscription-reads` corrects the bucket.
 *
 * Outcomes are facts, never decisions: `found` (the row, normalised to Resource Graph's form), `notFound` (ARM
 * answered 404, which the caller must NOT take as proof of absence: ARM's read replicas lag a write in other regions,
 * and some child types answer 404 for other reasons), `skipped` or `failed` (use Resource Graph).
 */
import got from 'got';
import type { TokenCredential } from '@azure/core-auth';
import type { Logger } from '../log.js';
import { armPayloadToRow } from './armNormalize.js';
import type { ArmReadBudget } from './armBudget.js';
import { armScopeFor } from './credential.js';
import type { ExtraColumns } from './queries.js';
import { parseResourceId } from './resourceId.js';
import type { ArgRow } from './types.js';

export type ArmRead =
  | { status: 'found'; row: ArgRow }
  | { status: 'notFound' }
  | { status: 'skipped'; reason: string }
  | { status: 'failed'; reason: string };

export const PROVIDERS_API_VERSION = '2021-04-01';
export const RESOURCE_GROUPS_API_VERSION = '2021-04-01';
export const SUBSCRIPTIONS_API_VERSION = '2022-12-01';
const VERSION_TTL_MS = 24 * 3600_000;
const MISS_TTL_MS = 10 * 60_000;
const TIMEOUT_MS = 10_000;

export interface ArmReaderOptions {
  endpoint: string;
  credential: TokenCredential;
  budget: ArmReadBudget;
  logger: Logger;
  now?: () => number;
}

/** The newest stable api-version of a list (a preview only when there is nothing else). */
export function pickApiVersion(versions: readonly string[]): string | undefined {
  const sorted = [...versions].sort().reverse();
  return sorted.find((v) => !/preview/i.test(v)) ?? sorted[0];
}

export class ArmReader {
  private readonly endpoint: string;
  private readonly scope: string;
  private readonly now: () => number;
  /** namespace → (lower-case type below it → api-version), with when it expires. */
  private readonly versions = new Map<string, Promise<{ types: Map<string, string>; until: number }>>();
  private readonly tenants = new Map<string, Promise<string | null>>();
  private requests = 0;
  private extraColumns: ExtraColumns = {};

  constructor(private readonly options: ArmReaderOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    const url = new URL(this.endpoint);
    this.scope = url.protocol === 'http:' ? 'https://management.azure.com/.default' : armScopeFor(this.endpoint);
    this.now = options.now ?? Date.now;
  }

  /** ARM requests sent so far (resource, provider and subscription GETs). */
  requestCount(): number {
    return this.requests;
  }

  get budget(): ArmReadBudget {
    return this.options.budget;
  }

  /**
   * Columns the mapping reads beyond the default projections (the same the Resource Graph reader is given): every
   * later row carries them from the ARM payload, so it maps like the Resource Graph row of the same resource.
   */
  useExtraColumns(extra: ExtraColumns): void {
    this.extraColumns = extra;
  }

  async read(id: string): Promise<ArmRead> {
    let parsed;
    try {
      parsed = parseResourceId(id);
    } catch (error) {
      return { status: 'skipped', reason: (error as Error).message };
    }
    if (parsed.kind === 'subscription' || parsed.kind === 'nonResource') return { status: 'skipped', reason: `${parsed.kind} ids are read from Resource Graph` };
    const subscription = parsed.subscriptionId.toLowerCase();
    let apiVersion = RESOURCE_GROUPS_API_VERSION;
    if (parsed.kind !== 'resourceGroup') {
      const version = await this.apiVersionOf(subscription, parsed.providerNamespace!, parsed.type!);
      if (!version) return { status: 'skipped', reason: `no api-version known for ${parsed.type}` };
      apiVersion = version;
    }
    const tenant = await this.tenantOf(subscription);
    if (!this.options.budget.tryTake(subscription)) return { status: 'skipped', reason: 'ARM read budget spent' };
    const answer = await this.get(subscription, `${id}?api-version=${apiVersion}`);
    if ('reason' in answer) return { status: 'failed', reason: answer.reason };
    if (answer.status === 404) return { status: 'notFound' };
    if (answer.status !== 200) return { status: 'failed', reason: `ARM answered ${answer.status}` };
    const extra = (parsed.kind === 'resourceGroup' ? this.extraColumns.resourceGroup : this.extraColumns.resource) ?? [];
    const row = armPayloadToRow(answer.body, tenant, extra);
    return row instanceof Error ? { status: 'failed', reason: row.message } : { status: 'found', row };
  }

  private apiVersionOf(subscription: string, namespace: string, type: string): Promise<string | undefined> {
    const cached = this.versions.get(namespace);
    const load = async () => {
      if (!this.options.budget.tryTake(subscription)) return { types: new Map<string, string>(), until: 0 };
      const answer = await this.get(subscription, `/subscriptions/${subscription}/providers/${namespace}?api-version=${PROVIDERS_API_VERSION}`);
      const types = new Map<string, string>();
      if (!('reason' in answer) && answer.status === 200) {
        for (const t of (answer.body as { resourceTypes?: { resourceType?: unknown; apiVersions?: unknown }[] }).resourceTypes ?? []) {
          const versions = Array.isArray(t.apiVersions) ? t.apiVersions.filter((v): v is string => typeof v === 'string') : [];
          const version = pickApiVersion(versions);
          if (typeof t.resourceType === 'string' && version) types.set(`${namespace}/${t.resourceType}`.toLowerCase(), version);
        }
      }
      return { types, until: this.now() + (types.size > 0 ? VERSION_TTL_MS : MISS_TTL_MS) };
    };
    return (async () => {
      const entry = cached ? await cached : undefined;
      if (entry && entry.until > this.now()) return entry.types.get(type);
      // Expired (or never asked): one read asks again, and every read that found the same expired answer waits for it.
      const current = this.versions.get(namespace);
      if (current && current !== cached) return (await current).types.get(type);
      const loading = load();
      this.versions.set(namespace, loading);
      return (await loading).types.get(type);
    })();
  }

  private tenantOf(subscription: string): Promise<string | null> {
    let tenant = this.tenants.get(subscription);
    if (!tenant) {
      tenant = (async () => {
        if (!this.options.budget.tryTake(subscription)) return null;
        const answer = await this.get(subscription, `/subscriptions/${subscription}?api-version=${SUBSCRIPTIONS_API_VERSION}`);
        const value = !('reason' in answer) && answer.status === 200 ? (answer.body as { tenantId?: unknown }).tenantId : undefined;
        return typeof value === 'string' ? value : null;
      })();
      this.tenants.set(subscription, tenant);
      // Only a known tenant is kept; the next read asks again.
      void tenant.then((t) => (t === null ? this.tenants.delete(subscription) : undefined));
    }
    return tenant;
  }

  private async get(subscription: string, path: string): Promise<{ status: number; body: unknown } | { reason: string }> {
    this.requests++;
    try {
      const token = await this.options.credential.getToken(this.scope);
      const response = await got(`${this.endpoint}${path}`, {
        headers: { authorization: `Bearer ${token?.token ?? ''}` },
        throwHttpErrors: false,
        retry: { limit: 0 },
        timeout: { request: TIMEOUT_MS },
        responseType: 'json',
      });
      const remaining = Number(response.headers['x-ms-ratelimit-remaining-subscription-reads']);
      this.options.budget.observeRemaining(subscription, remaining);
      if (response.statusCode === 429) {
        const seconds = Number(response.headers['retry-after']);
        this.options.budget.throttled(subscription, Number.isFinite(seconds) ? seconds * 1000 : 5_000);
        this.options.logger.warn('ARM throttled a direct read; Resource Graph serves this subscription meanwhile', { subscriptionId: subscription, retryAfterSeconds: seconds });
      }
      return { status: response.statusCode, body: response.body };
    } catch (error) {
      return { reason: `ARM read failed: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
}
