/**
 * Watches Port for every change of S6: when did Port first hold the change's final, correct state and keep it
 * (a stale intermediate written later resets the clock and counts as a regression)?
 */
import { mapRow } from '../../../shared/mapping/index.js';
import type { BlueprintIds } from '../../../shared/port/blueprints.js';
import type { ArgRow } from '../../../shared/azure/types.js';
import type { PortEmulator } from '../../emulators/port/server.js';
import { canonicalEntity } from '../emulators.js';
import type { FreshChange } from './workload.js';

interface Tracked {
  change: FreshChange;
  blueprint: string;
  identifier: string;
  /** Canonical entity Port must hold, or null: must be absent. */
  expected: string | null;
  /** Virtual ms of the ARM change and of Resource Graph first showing the final state. */
  armAt: number;
  visibleAt: number;
  finalAt?: number;
  regressions: number;
  seen?: { entity: unknown; updatedAt: unknown };
}

export interface FreshnessResult {
  relative: number[];
  absolute: number[];
  sparseAbsolute: number[];
  sparseRelative: number[];
  unreached: number;
  sparseUnreached: number;
  regressions: number;
  /** Entities watched (a group delete watches the group and each resource in it). */
  tracked: number;
}

export class FreshnessTracker {
  private readonly tracked: Tracked[] = [];

  constructor(
    private readonly port: PortEmulator,
    private readonly ids: BlueprintIds,
  ) {}

  /** Registers what Port must end up holding for `row` (null: the id must be gone), from this change. */
  expect(change: FreshChange, id: string, row: ArgRow | null, armAt: number): void {
    const mapped = mapRow(row ?? { id }, this.ids);
    if (!mapped) throw new Error(`S6: ${id} maps to no entity`);
    this.tracked.push({
      change,
      blueprint: mapped.blueprint,
      identifier: mapped.entity.identifier,
      expected: row ? canonicalEntity(mapped.entity) : null,
      armAt,
      visibleAt: armAt + change.lagMs,
      regressions: 0,
    });
  }

  /** Looks at Port now. Cheap when nothing changed: an entity is re-compared only when its object or updatedAt changed. */
  check(now: number): void {
    for (const t of this.tracked) {
      const entity = this.port.entity(t.blueprint, t.identifier);
      const updatedAt = (entity as { updatedAt?: unknown } | undefined)?.updatedAt;
      if (t.seen && t.seen.entity === entity && t.seen.updatedAt === updatedAt) continue;
      t.seen = { entity, updatedAt };
      const have = entity ? canonicalEntity(entity) : null;
      if (have === t.expected) {
        t.finalAt ??= now;
      } else if (t.finalAt !== undefined) {
        t.regressions++;
        delete t.finalAt;
      }
    }
  }

  /**
   * Per change (a group delete is one change: final when the group and every resource in it are gone): the time its
   * last entity reached its final state, from the ARM change and from Resource Graph showing it.
   */
  result(): FreshnessResult {
    const out: FreshnessResult = { relative: [], absolute: [], sparseAbsolute: [], sparseRelative: [], unreached: 0, sparseUnreached: 0, regressions: 0, tracked: this.tracked.length };
    const byChange = new Map<FreshChange, Tracked[]>();
    for (const t of this.tracked) {
      out.regressions += t.regressions;
      byChange.set(t.change, [...(byChange.get(t.change) ?? []), t]);
    }
    for (const [change, entities] of byChange) {
      const sparse = change.phase === 'sparse';
      if (entities.some((t) => t.finalAt === undefined)) {
        out.unreached++;
        if (sparse) out.sparseUnreached++;
        continue;
      }
      const finalAt = Math.max(...entities.map((t) => t.finalAt!));
      const absolute = Math.max(0, finalAt - entities[0]!.armAt);
      const relative = Math.max(0, finalAt - entities[0]!.visibleAt);
      out.absolute.push(absolute);
      out.relative.push(relative);
      if (sparse) {
        out.sparseAbsolute.push(absolute);
        out.sparseRelative.push(relative);
      }
    }
    return out;
  }
}
