/**
 * How the real-time path observes a batch: through the convergence core's observation (converge.ts calls
 * `graph.observe`), with fresher sources in front of Resource Graph where they pay.
 *
 * - Write hints (events, re-checks, confirms) of resources and resource groups are read from ARM first, within the
 *   ARM read budget (armBudget.ts): ARM has the state the moment the write succeeded. A `found` is "present" with
 *   the ARM row, normalised to Resource Graph's form; anything else (skipped, failed, 404) falls back to one batched
 *   Resource Graph read. Child resources are not read from ARM: Resource Graph decides whether a child type is listed
 *   at all, and an entity ARM alone shows would be removed by the next full sync.
 * - Absence is only ever proven by Resource Graph's witness rule (observe.ts). An ARM 404 is not proof: ARM's read
 *   replicas lag writes in other regions and some types answer 404 for other reasons. It is used one way only: a
 *   delete hint past its settle time whose resource Resource Graph still lists, and ARM does not find, is "unknown"
 *   (nothing written, nothing deleted) instead of being written back from the lagging row.
 * - Stale reads: a Resource Graph row that maps differently from a state ARM returned at or after the id's newest
 *   event is stale (Resource Graph trails ARM); the ARM state is observed instead, so a lagging re-check never writes
 *   an older state over a fresher one. A Resource Notifications payload no older than the id's newest event is laid
 *   over the row for the fields it carries (armNormalize.ts).
 */
import pLimit from 'p-limit';
import type { ArmReader } from '../../azure/armReader.js';
import { overlayNotification } from '../../azure/armNormalize.js';
import type { ArgRow, Observation, ResourceGraphApi } from '../../azure/types.js';
import type { EntityMapping } from '../converge/mapping.js';
import type { WorkItem } from './applyBatch.js';
import type { EventCounters } from './counters.js';
import type { KnownStates } from './knownStates.js';

export type ObservedSource = 'arm' | 'known' | 'graph';

export interface BatchObservation {
  /** Resource Graph with this batch's observation in front; what converge() reads through. */
  graph: ResourceGraphApi;
  /** Where the observation of an id came from (undefined: not observed). */
  sourceOf(id: string): ObservedSource | undefined;
  /** The row the observation held (present ids). */
  rowOf(id: string): ArgRow | undefined;
}

const ARM_CONCURRENCY = 8;

export class FreshObserver {
  constructor(
    private readonly resourceGraph: ResourceGraphApi,
    private readonly arm: ArmReader | undefined,
    private readonly known: KnownStates,
    private readonly mapping: EntityMapping,
    private readonly counters: EventCounters,
    private readonly settled: (item: WorkItem, now: number) => boolean,
  ) {}

  forBatch(batch: ReadonlyMap<string, WorkItem>, now: number): BatchObservation {
    const sources = new Map<string, ObservedSource>();
    const rows = new Map<string, ArgRow>();
    const graph: ResourceGraphApi = Object.create(this.resourceGraph) as ResourceGraphApi;
    graph.observe = async (ids, scope, options) => {
      const result = new Map<string, Observation>();
      const present = (id: string, row: ArgRow, source: ObservedSource) => {
        result.set(id, { state: 'present', row });
        sources.set(id, source);
        rows.set(id, row);
      };
      if (this.arm?.budget.enabled) {
        const candidates = ids.filter((id) => this.armCandidate(batch.get(id)));
        candidates.sort((a, b) => batch.get(b)!.eventAt - batch.get(a)!.eventAt);
        const limit = pLimit(ARM_CONCURRENCY);
        await Promise.all(
          candidates.map((id) =>
            limit(async () => {
              const read = await this.arm!.read(id);
              if (read.status !== 'found') return;
              this.counters.increment('armReads');
              this.known.noteArm(id, read.row, now);
              present(id, this.overlay(id, read.row, now), 'arm');
            }),
          ),
        );
      }
      const rest = ids.filter((id) => !result.has(id));
      const observed = rest.length > 0 ? await this.resourceGraph.observe(rest, scope, options) : new Map<string, Observation>();
      for (const id of rest) {
        const o = observed.get(id);
        if (!o) continue;
        if (o.state !== 'present') {
          result.set(id, o);
          continue;
        }
        const item = batch.get(id);
        if (item?.hint === 'delete' && !item.refresh && this.settled(item, now) && this.arm?.budget.enabled) {
          const read = await this.arm.read(id);
          if (read.status === 'notFound') {
            this.counters.increment('armNotFoundWhileListed');
            result.set(id, { state: 'unknown', cause: 'inconclusive', reason: 'ARM no longer finds it while Resource Graph still lists it (Resource Graph lag)' });
            continue;
          }
        }
        const k = this.known.get(id, now);
        const armAt = k?.arm?.at ?? Number.NEGATIVE_INFINITY;
        if (k?.arm && armAt >= (k.latestEventAt ?? item?.eventAt ?? 0) && this.differs(k.arm.row, o.row)) {
          this.counters.increment('staleReadReplaced');
          present(id, this.overlay(id, k.arm.row, now), 'known');
          continue;
        }
        present(id, this.overlay(id, o.row, now), 'graph');
      }
      return result;
    };
    return { graph, sourceOf: (id) => sources.get(id), rowOf: (id) => rows.get(id) };
  }

  private armCandidate(item: WorkItem | undefined): boolean {
    return item !== undefined && item.hint === 'write' && !item.target.child && item.target.kind !== 'subscription';
  }

  /** The notification's fields over the row, unless a newer event for the id is known. */
  private overlay(id: string, row: ArgRow, now: number): ArgRow {
    const n = this.known.get(id, now)?.notification;
    const latest = this.known.get(id, now)?.latestEventAt ?? Number.NEGATIVE_INFINITY;
    if (!n || n.at < latest) return row;
    this.counters.increment('notificationOverlaid');
    return overlayNotification(row, n.fields);
  }

  private differs(a: ArgRow, b: ArgRow): boolean {
    return JSON.stringify(this.mapping.mapRow(a).entities) !== JSON.stringify(this.mapping.mapRow(b).entities);
  }
}
