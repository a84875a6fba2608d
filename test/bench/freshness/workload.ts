/**
 * S6's change stream: what happens in ARM, when, how long Resource Graph takes to show it, and how long Event Grid
 * takes to deliver its event. Deterministic for a seed.
 *
 * Shape: a sparse, steady stream (Poisson arrivals at `sparseRatePerSecond`) with bursts laid over it (each burst's
 * changes inside one second). Mix: tag updates, creates, deletes, resource group deletes, and updates made twice a
 * few seconds apart (where a stale intermediate state can reach Port). Each id changes in one entry only, so the
 * final state of an id is the state after its entry.
 */
import type { ArgRow } from '../../../shared/azure/types.js';
import { LagModel, type LagSpec } from '../../emulators/resourceGraph/lag.js';
import { prng, type GeneratedEstate } from '../../fixtures/estate.js';
import { shuffle } from '../workload.js';

export type FreshKind = 'update' | 'create' | 'delete' | 'groupDelete' | 'doubleUpdate';

export interface FreshChange {
  kind: FreshKind;
  /** ARM id (original casing) of what changes. */
  id: string;
  /** ms from the stream's start when ARM makes the change (for doubleUpdate: the second write). */
  at: number;
  /** doubleUpdate: the first write, this long before `at`. */
  firstWriteBeforeMs?: number;
  /** New state (updates, creates). */
  row?: ArgRow;
  /** doubleUpdate: the intermediate state. */
  intermediate?: ArgRow;
  /** Resource Graph visibility delay of this change (drawn from the lag model). */
  lagMs: number;
  /** doubleUpdate: lag of the first write. */
  firstLagMs?: number;
  /** Event Grid delivery delay (event time → queue message visible). */
  deliveryMs: number;
  /** At-least-once: a second delivery of the same event, this long after the first (undefined: none). */
  redeliveryMs?: number;
  phase: 'sparse' | 'burst';
}

export interface FreshWorkloadOptions {
  changes: number;
  sparseRatePerSecond: number;
  /** Share of the changes that arrive in bursts. */
  burstShare: number;
  bursts: number;
  /** Resource Graph lag of the state tables (drawn per change). */
  lag: LagSpec;
  /** Event Grid delivery delay (drawn per event). */
  delivery: LagSpec;
  /** Share of events delivered twice. */
  duplicateShare: number;
  seed: number;
}

/** "Most within 30 s, a tail of minutes": 95 % 0–30 s, 4 % 30 s–2 min, 1 % 2–5 min. */
export const DEFAULT_FRESH_LAG: LagSpec = {
  kind: 'mixture',
  seed: 61,
  parts: [
    { weight: 0.95, minMs: 0, maxMs: 30_000 },
    { weight: 0.04, minMs: 30_000, maxMs: 120_000 },
    { weight: 0.01, minMs: 120_000, maxMs: 300_000 },
  ],
};

/** Event Grid to the queue, plus the queue listener's polling: mostly 1–3 s, some up to 10 s. */
export const DEFAULT_FRESH_DELIVERY: LagSpec = {
  kind: 'mixture',
  seed: 62,
  parts: [
    { weight: 0.9, minMs: 500, maxMs: 3_000 },
    { weight: 0.1, minMs: 3_000, maxMs: 10_000 },
  ],
};

export function describeSpec(spec: LagSpec): string {
  if (typeof spec === 'number') return `${spec} ms`;
  if (spec.kind === 'fixed') return `${spec.ms} ms`;
  if (spec.kind === 'lognormal') return `lognormal median ${spec.medianMs} ms, σ ${spec.sigma}${spec.maxMs ? `, ≤ ${spec.maxMs} ms` : ''}`;
  const total = spec.parts.reduce((s, p) => s + p.weight, 0);
  const s = (ms: number) => (ms >= 60_000 ? `${+(ms / 60_000).toFixed(1)} min` : `${+(ms / 1000).toFixed(1)} s`);
  return spec.parts.map((p) => `${Math.round((p.weight / total) * 1000) / 10} % ${s(p.minMs)}–${s(p.maxMs)}`).join(', ');
}

function drawer(spec: LagSpec): () => number {
  const model = new LagModel();
  model.set({ tables: { resources: spec } });
  return () => model.draw('resources') ?? 0;
}

const groupKey = (row: ArgRow) => `${String(row.subscriptionId).toLowerCase()}/${String(row.resourceGroup ?? row.name).toLowerCase()}`;

export function planFreshWorkload(estate: GeneratedEstate, options: FreshWorkloadOptions): FreshChange[] {
  const random = prng(options.seed);
  const lag = drawer(options.lag);
  const delivery = drawer(options.delivery);
  const n = options.changes;
  const groupDeletes = Math.max(1, Math.round(n * 0.01));
  const doubles = Math.max(1, Math.round(n * 0.04));
  const deletes = Math.round(n * 0.2);
  const creates = Math.round(n * 0.25);
  const updates = Math.max(0, n - groupDeletes - doubles - deletes - creates);

  const groups = shuffle([...estate.resourceGroups], random);
  const doomed = groups.slice(0, groupDeletes);
  const doomedKeys = new Set(doomed.map(groupKey));
  const live = groups.slice(groupDeletes);
  const pool = shuffle(estate.resources.filter((r) => !doomedKeys.has(groupKey(r))), random);
  if (pool.length < updates + doubles + deletes) throw new RangeError(`S6: the estate has ${pool.length} resources to change, ${updates + doubles + deletes} needed`);
  let next = 0;
  const take = () => pool[next++]!;
  const tagged = (row: ArgRow, value: string): ArgRow => ({ ...row, tags: { ...(row.tags ?? {}), freshness: value } });

  const entries: Omit<FreshChange, 'at' | 'phase' | 'lagMs' | 'deliveryMs'>[] = [];
  for (let i = 0; i < updates; i++) entries.push({ kind: 'update', ...withRow(take(), (r) => tagged(r, `u${i}`)) });
  for (let i = 0; i < doubles; i++) {
    const r = take();
    entries.push({ kind: 'doubleUpdate', id: r.id, intermediate: tagged(r, `d${i}-first`), row: tagged(r, `d${i}-final`), firstWriteBeforeMs: 2_000 + Math.round(random() * 6_000) });
  }
  for (let i = 0; i < deletes; i++) entries.push({ kind: 'delete', id: take().id });
  for (let i = 0; i < creates; i++) {
    const g = live[Math.floor(random() * live.length)]!;
    const name = `fresh${options.seed}new${i}`;
    const row: ArgRow = {
      id: `${g.id}/providers/Microsoft.Storage/storageAccounts/${name}`,
      name,
      type: 'microsoft.storage/storageaccounts',
      kind: 'StorageV2',
      location: g.location ?? 'westeurope',
      resourceGroup: String(g.name).toLowerCase(),
      subscriptionId: g.subscriptionId ?? null,
      tenantId: g.tenantId ?? null,
      managedBy: null,
      sku: { name: 'Standard_LRS', tier: 'Standard' },
      tags: { freshness: `c${i}` },
      provisioningState: 'Succeeded',
    };
    entries.push({ kind: 'create', id: row.id, row });
  }
  for (const g of doomed) entries.push({ kind: 'groupDelete', id: g.id });
  shuffle(entries, random);

  const burstCount = Math.round(n * options.burstShare);
  const sparseCount = n - burstCount;
  const sparseDurationMs = (sparseCount / options.sparseRatePerSecond) * 1000;
  const changes: FreshChange[] = [];
  let t = 1_000;
  entries.forEach((e, i) => {
    let at: number;
    let phase: FreshChange['phase'];
    if (i < sparseCount) {
      t += -Math.log(1 - random()) * (1000 / options.sparseRatePerSecond);
      at = t;
      phase = 'sparse';
    } else {
      const k = i - sparseCount;
      const burst = Math.floor((k * options.bursts) / Math.max(1, burstCount));
      at = 1_000 + (sparseDurationMs * (burst + 1)) / (options.bursts + 1) + random() * 1_000;
      phase = 'burst';
    }
    const redeliver = random() < options.duplicateShare;
    changes.push({
      ...e,
      at: Math.round(at),
      phase,
      lagMs: lag(),
      ...(e.kind === 'doubleUpdate' ? { firstLagMs: lag() } : {}),
      deliveryMs: delivery(),
      ...(redeliver ? { redeliveryMs: 1_000 + delivery() } : {}),
    });
  });
  return changes.sort((a, b) => a.at - b.at);
}

function withRow(row: ArgRow, change: (r: ArgRow) => ArgRow): { id: string; row: ArgRow } {
  return { id: row.id, row: change(row) };
}
