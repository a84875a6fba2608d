/**
 * Visibility lag per Resource Graph table.
 *
 * Two ways to set it, which can be combined:
 * - the legacy shortcut `{resourcesMs, changesMs}`: one fixed lag for both state tables and one for both change
 *   tables, applied at QUERY time to every version (changing it re-times what is visible, as it always did);
 * - per-table specs `tables: {resources, resourcecontainers, resourcechanges, resourcecontainerchanges}`: a fixed
 *   delay or a seeded distribution, DRAWN ONCE PER CHANGE when the change happens and kept with it, so a change
 *   record can be ingested minutes after its timestamp while the next one is not.
 *
 * Real behaviour modelled: "95% of all changes to be present in resource graph under 30s. There is no upper bound on
 * delay" (Azure/azure-dev#540); change records "should be available in less than five minutes" (Learn
 * governance/resource-graph/how-to/get-resource-changes), with support cases reporting far longer.
 */
import { prng } from '../../fixtures/estate.js';
import type { TableName } from './kql.js';

export const TABLES: readonly TableName[] = ['resources', 'resourcecontainers', 'resourcechanges', 'resourcecontainerchanges'];

/** A delay distribution. `mixture`: pick a part by weight, then a uniform delay in [minMs, maxMs]. */
export type LagDistribution =
  | { kind: 'fixed'; ms: number }
  | { kind: 'mixture'; parts: { weight: number; minMs: number; maxMs: number }[]; seed?: number }
  | { kind: 'lognormal'; medianMs: number; sigma: number; maxMs?: number; seed?: number };

/** A number is a fixed delay in ms. */
export type LagSpec = number | LagDistribution;

export type TableLags = Partial<Record<TableName, LagSpec | null>>;

export interface Lag {
  /** Shortcut: fixed lag of `resources` and `resourcecontainers`, applied at query time. */
  resourcesMs: number;
  /** Shortcut: fixed lag of both change tables, applied at query time. */
  changesMs: number;
  /** Per-table specs (drawn per change); `null` removes a table's spec (back to the shortcut). */
  tables?: TableLags;
}

/** Most changes within 30 s, a tail of minutes, a few up to half an hour (seeded). */
export function longTailLag(seed = 1): LagDistribution {
  return {
    kind: 'mixture',
    seed,
    parts: [
      { weight: 0.95, minMs: 0, maxMs: 30_000 },
      { weight: 0.04, minMs: 30_000, maxMs: 5 * 60_000 },
      { weight: 0.01, minMs: 5 * 60_000, maxMs: 30 * 60_000 },
    ],
  };
}

const nonNegative = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** Validates a spec from a control body or options; throws an Error naming what is wrong. */
export function checkLagSpec(raw: unknown, where: string): LagSpec {
  if (nonNegative(raw)) return raw as number;
  const spec = raw as { kind?: string; ms?: number; seed?: unknown; parts?: { weight: number; minMs: number; maxMs: number }[]; medianMs?: number; sigma?: number; maxMs?: number } | null;
  const fail = (why: string): never => {
    throw new Error(`${where}: ${why}, got ${JSON.stringify(raw)}`);
  };
  if (!spec || typeof spec !== 'object') return fail('a lag is a number of ms ≥ 0 or {kind: "fixed" | "mixture" | "lognormal", …}');
  if (spec.seed !== undefined && !Number.isInteger(spec.seed)) fail('seed must be an integer');
  switch (spec.kind) {
    case 'fixed':
      if (!nonNegative(spec.ms)) fail('fixed needs {ms ≥ 0}');
      return spec as LagDistribution;
    case 'mixture': {
      const parts = spec.parts;
      if (!Array.isArray(parts) || parts.length === 0) return fail('mixture needs a non-empty parts array');
      for (const p of parts) {
        if (!p || !nonNegative(p.weight) || !nonNegative(p.minMs) || !nonNegative(p.maxMs) || p.maxMs < p.minMs) {
          fail('each mixture part needs {weight ≥ 0, minMs ≥ 0, maxMs ≥ minMs}');
        }
      }
      if (parts.reduce((sum, p) => sum + p.weight, 0) <= 0) fail('mixture weights must not all be 0');
      return spec as LagDistribution;
    }
    case 'lognormal':
      if (!(typeof spec.medianMs === 'number' && spec.medianMs > 0) || !nonNegative(spec.sigma)) fail('lognormal needs {medianMs > 0, sigma ≥ 0}');
      if (spec.maxMs !== undefined && !nonNegative(spec.maxMs)) fail('lognormal maxMs must be ≥ 0');
      return spec as LagDistribution;
    default:
      return fail('unknown lag kind');
  }
}

function sampler(spec: LagSpec): () => number {
  if (typeof spec === 'number') return () => spec;
  if (spec.kind === 'fixed') return () => spec.ms;
  const random = prng(spec.seed ?? 1);
  if (spec.kind === 'mixture') {
    const total = spec.parts.reduce((sum, p) => sum + p.weight, 0);
    return () => {
      let pick = random() * total;
      const part = spec.parts.find((p) => (pick -= p.weight) < 0) ?? spec.parts[spec.parts.length - 1]!;
      return Math.round(part.minMs + random() * (part.maxMs - part.minMs));
    };
  }
  return () => {
    // Box–Muller: one standard normal draw per delay.
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const ms = Math.round(spec.medianMs * Math.exp(spec.sigma * z));
    return spec.maxMs === undefined ? ms : Math.min(ms, spec.maxMs);
  };
}

export class LagModel {
  private shortcut = { resourcesMs: 0, changesMs: 0 };
  private readonly specs = new Map<TableName, { spec: LagSpec; draw: () => number }>();

  set(lag: Partial<Lag>): void {
    if (lag.resourcesMs !== undefined) this.shortcut.resourcesMs = checkLagSpec(lag.resourcesMs, 'resourcesMs') as number;
    if (lag.changesMs !== undefined) this.shortcut.changesMs = checkLagSpec(lag.changesMs, 'changesMs') as number;
    for (const [table, raw] of Object.entries(lag.tables ?? {})) {
      if (!TABLES.includes(table as TableName)) throw new Error(`tables: unknown table "${table}" (one of ${TABLES.join(', ')})`);
      if (raw === null) this.specs.delete(table as TableName);
      else {
        const spec = checkLagSpec(raw, `tables.${table}`);
        this.specs.set(table as TableName, { spec, draw: sampler(spec) });
      }
    }
  }

  /** The delay to stamp on a change to `table` now, or undefined when the table follows the query-time shortcut. */
  draw(table: TableName): number | undefined {
    return this.specs.get(table)?.draw();
  }

  /** The shortcut lag that applies to versions and records carrying no stamped delay. */
  fallback(table: TableName): number {
    return table === 'resources' || table === 'resourcecontainers' ? this.shortcut.resourcesMs : this.shortcut.changesMs;
  }

  describe(): Lag {
    return { ...this.shortcut, tables: Object.fromEntries([...this.specs].map(([t, s]) => [t, s.spec])) };
  }
}
