import type { PortEntity } from '../../port/types.js';
import type { UpsertChange } from './plan.js';
import { CountingWriter, type BlueprintPlan, type CatalogWriter } from './writer.js';

/** Records what a run would do; writes nothing. */
export class PlanCatalogWriter extends CountingWriter implements CatalogWriter {
  readonly dryRun = true;
  private readonly plans = new Map<string, BlueprintPlan>();

  private planFor(blueprint: string): BlueprintPlan {
    let p = this.plans.get(blueprint);
    if (!p) {
      p = { create: [], update: [], delete: [] };
      this.plans.set(blueprint, p);
    }
    return p;
  }

  async upsert(blueprint: string, entity: PortEntity, change: UpsertChange): Promise<void> {
    if (change.kind === 'create') {
      this.planFor(blueprint).create.push(entity.identifier);
      this.bucket(blueprint).created += 1;
    } else {
      this.planFor(blueprint).update.push({ identifier: entity.identifier, fields: change.fields ?? [] });
      this.bucket(blueprint).updated += 1;
    }
  }

  async flush(): Promise<void> {}

  async delete(blueprint: string, identifiers: string[]): Promise<void> {
    this.planFor(blueprint).delete.push(...identifiers);
    this.bucket(blueprint).deleted += identifiers.length;
  }

  plan(): Record<string, BlueprintPlan> {
    return Object.fromEntries(this.plans);
  }
}
