/**
 * The bench's side of the fence: the Port and Resource Graph emulators with issue #7's limits, the generated
 * estate, Azurite for the event burst, and the checks that Port ended up equal to the estate.
 */
import { QueueClient } from '@azure/storage-queue';
import pLimit from 'p-limit';
import { mapRow } from '../../shared/mapping/index.js';
import { DEFAULT_BLUEPRINT_IDS, defaultBlueprints, type BlueprintIds } from '../../shared/port/blueprints.js';
import type { PortEntity } from '../../shared/port/types.js';
import { startPortEmulator, type PortEmulator } from '../emulators/port/server.js';
import { startResourceGraphEmulator, type ResourceGraphEmulator } from '../emulators/resourceGraph/server.js';
import { generateEstate } from '../fixtures/estate.js';
import { startAzurite, type AzuriteHandle } from '../support/azurite.js';
import type { Limits } from './bound.js';
import type { PortRequestReport } from './report.js';
import type { ChangeSet, Estate } from './workload.js';

export interface BenchQueue {
  connectionString: string;
  queueName: string;
  enqueue(messages: string[]): Promise<void>;
  remaining(): Promise<{ main: number; poison: number }>;
}

export interface BenchEmulators {
  limits: Limits;
  ids: BlueprintIds;
  port: { url: string; clientId: string; clientSecret: string; counts(): PortRequestReport };
  arg: { url: string; queryCount(): number };
  resetCounts(): void;
  /** Entities written (upserted or deleted) in the three catalog blueprints since the last reset; state writes excluded. */
  catalogWrites(): number;
  /** Bulk upsert requests per blueprint since the last reset (retries included). */
  bulkUpsertsByBlueprint(): Record<string, number>;
  /** How busy the app kept Port since the last reset: mean requests in flight, and when the writes ran. */
  portActivity(): { avgInFlight: number; busyMs: number; spanMs: number; firstWriteAtMs: number | undefined };
  /** undefined when Port holds exactly the mapping of the estate; otherwise what differs, briefly. */
  catalogMismatch(): string | undefined;
  estate(): Estate;
  estateSize(): { subscriptions: number; resourceGroups: number; resources: number };
  applyChanges(set: ChangeSet): void;
  /** Writes the estate's mapping straight into the Port emulator (to run a later scenario on its own). */
  syncPortToEstate(): Promise<void>;
  startQueue(): Promise<BenchQueue>;
  close(): Promise<void>;
}

export interface BenchEmulatorOptions {
  subscriptions: number;
  resourceGroups: number;
  resources: number;
  seed: number;
  limits: Limits;
}

/**
 * Port's view of an entity that the comparison cares about: title, properties, relations; null and absent are the
 * same to Port. Deliberately independent of shared/sync/reconcile/fingerprint.ts, the comparison under test.
 */
export function canonicalEntity(e: { title?: string | null; properties?: Record<string, unknown>; relations?: Record<string, unknown> }): string {
  return stableStringify({ title: e.title ?? null, properties: dropNullish(e.properties ?? {}), relations: dropNullish(e.relations ?? {}) });
}

function dropNullish(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== null && v !== undefined) out[k] = v;
  return out;
}

export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** The catalog the estate should produce: blueprint → identifier → canonical entity. */
export function expectedCatalog(estate: Estate, ids: BlueprintIds): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>([
    [ids.subscription, new Map()],
    [ids.resourceGroup, new Map()],
    [ids.resource, new Map()],
  ]);
  for (const row of [...estate.subscriptions, ...estate.resourceGroups, ...estate.resources]) {
    const mapped = mapRow(row, ids);
    if (!mapped) continue;
    out.get(mapped.blueprint)?.set(mapped.entity.identifier, canonicalEntity(mapped.entity));
  }
  return out;
}

/** Compares Port with the expected catalog; returns a short description of the first differences, or undefined. */
export function diffCatalog(
  expected: Map<string, Map<string, string>>,
  actual: (blueprint: string) => { identifier: string; title?: string | null; properties?: Record<string, unknown>; relations?: Record<string, unknown> }[],
): string | undefined {
  const problems: string[] = [];
  for (const [blueprint, want] of expected) {
    const have = new Map(actual(blueprint).map((e) => [e.identifier, canonicalEntity(e)]));
    const missing = [...want.keys()].filter((id) => !have.has(id));
    const extra = [...have.keys()].filter((id) => !want.has(id));
    const differing = [...want.entries()].filter(([id, c]) => have.has(id) && have.get(id) !== c).map(([id]) => id);
    if (missing.length + extra.length + differing.length > 0) {
      const sample = (xs: string[]) => (xs.length ? ` e.g. ${xs.slice(0, 2).join(', ')}` : '');
      problems.push(
        `${blueprint}: ${missing.length} missing${sample(missing)}, ${extra.length} extra${sample(extra)}, ${differing.length} differing${sample(differing)}`,
      );
      if (differing.length > 0) {
        const id = differing[0]!;
        problems.push(`  want ${want.get(id)}\n  have ${have.get(id)}`);
      }
    }
  }
  return problems.length ? problems.join('; ') : undefined;
}

export async function startBenchEmulators(options: BenchEmulatorOptions): Promise<BenchEmulators> {
  const ids = DEFAULT_BLUEPRINT_IDS;
  const { limits } = options;
  const port: PortEmulator = await startPortEmulator({
    rateLimit: { limit: limits.port.rateLimit, periodSeconds: Math.max(1, Math.round(limits.port.periodMs / 1000)) },
    latencyMs: limits.port.latencyMs,
    // Recording is what lets us count entity writes by blueprint; cleared at every resetCounts().
    record: true,
  });
  const generated = generateEstate({
    subscriptions: options.subscriptions,
    resourceGroups: options.resourceGroups,
    resources: options.resources,
    seed: options.seed,
  });
  const arg: ResourceGraphEmulator = await startResourceGraphEmulator({
    estate: generated,
    quota: { limit: limits.arg.quota, windowMs: limits.arg.windowMs },
    latencyMs: limits.arg.latencyMs,
  });

  let azurite: AzuriteHandle | undefined;
  let argBase = 0;

  const estate = (): Estate => {
    const e = arg.estate();
    return { subscriptions: e.subscriptions, resourceGroups: e.resourceGroups, resources: e.resources };
  };

  return {
    limits,
    ids,
    port: { url: port.url, clientId: port.clientId, clientSecret: port.clientSecret, counts: () => port.counts() },
    arg: { url: arg.url, queryCount: () => arg.queryCount() - argBase },
    resetCounts() {
      port.resetCounts();
      port.clearRequests();
      argBase = arg.queryCount();
    },
    catalogWrites() {
      const catalog = new Set([ids.subscription, ids.resourceGroup, ids.resource]);
      let writes = 0;
      for (const r of port.requests) {
        const m = /^\/v1\/blueprints\/([^/]+)\/(entities\/bulk|bulk\/entities\/delete|entities)(\/[^/]+)?$/.exec(r.path);
        if (!m || r.method === 'GET' || !catalog.has(decodeURIComponent(m[1]!))) continue;
        if (m[2] === 'entities' && m[3] === undefined && r.method === 'POST') writes += 1;
        else if (m[2] === 'entities' && r.method === 'DELETE') writes += 1;
        else if (m[2] !== 'entities') writes += Array.isArray((r.body as { entities?: unknown[] })?.entities) ? (r.body as { entities: unknown[] }).entities.length : 0;
      }
      return writes;
    },
    bulkUpsertsByBlueprint() {
      const out: Record<string, number> = {};
      for (const r of port.requests) {
        const m = /^\/v1\/blueprints\/([^/]+)\/entities\/bulk$/.exec(r.path);
        if (m && r.method === 'POST') out[m[1]!] = (out[m[1]!] ?? 0) + 1;
      }
      return out;
    },
    portActivity() {
      const reqs = port.requests;
      if (reqs.length === 0) return { avgInFlight: 0, busyMs: 0, spanMs: 0, firstWriteAtMs: undefined };
      const starts = reqs.map((r) => Date.parse(r.time));
      const t0 = Math.min(...starts);
      const t1 = Math.max(...reqs.map((r, i) => starts[i]! + r.durationMs));
      const busyMs = reqs.reduce((sum, r) => sum + r.durationMs, 0);
      const firstWrite = reqs.findIndex((r) => r.kind === 'bulkUpsert' || r.kind === 'delete');
      return {
        avgInFlight: busyMs / Math.max(1, t1 - t0),
        busyMs,
        spanMs: t1 - t0,
        firstWriteAtMs: firstWrite >= 0 ? starts[firstWrite]! - t0 : undefined,
      };
    },
    catalogMismatch() {
      return diffCatalog(expectedCatalog(estate(), ids), (bp) => port.entities(bp));
    },
    estate,
    estateSize() {
      const e = estate();
      return { subscriptions: e.subscriptions.length, resourceGroups: e.resourceGroups.length, resources: e.resources.length };
    },
    applyChanges(set) {
      for (const r of set.updates) arg.upsertResource(r);
      for (const r of set.creates) arg.upsertResource(r);
      for (const id of set.deletes) arg.deleteResource(id);
      for (const id of set.groupDeletes) arg.deleteResourceGroup(id);
    },
    async syncPortToEstate() {
      for (const definition of defaultBlueprints(ids)) {
        if (!port.blueprint(definition.identifier)) port.seedBlueprint(definition as unknown as Record<string, unknown>);
      }
      const e = estate();
      const byBlueprint = new Map<string, PortEntity[]>();
      for (const row of [...e.subscriptions, ...e.resourceGroups, ...e.resources]) {
        const mapped = mapRow(row, ids);
        if (!mapped) continue;
        const list = byBlueprint.get(mapped.blueprint) ?? [];
        list.push(mapped.entity);
        byBlueprint.set(mapped.blueprint, list);
      }
      for (const [blueprint, entities] of byBlueprint) port.seed(blueprint, entities);
    },
    async startQueue() {
      azurite ??= await startAzurite();
      const queueName = `bench-events-${Date.now().toString(36)}`;
      const queue = new QueueClient(azurite.connectionString, queueName);
      const poison = new QueueClient(azurite.connectionString, `${queueName}-poison`);
      await queue.create();
      await poison.create();
      const count = async (q: QueueClient) => (await q.getProperties()).approximateMessagesCount ?? 0;
      return {
        connectionString: azurite.connectionString,
        queueName,
        async enqueue(messages) {
          const limit = pLimit(32);
          await Promise.all(messages.map((m) => limit(() => queue.sendMessage(m))));
        },
        async remaining() {
          return { main: await count(queue), poison: await count(poison) };
        },
      };
    },
    async close() {
      await Promise.allSettled([port.close(), arg.close(), azurite?.stop()]);
    },
  };
}

