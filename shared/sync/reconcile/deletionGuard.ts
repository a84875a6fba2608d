/**
 * The deletion guard of a full sync. Every peer that wiped a catalog did so after a partial read, so entities are
 * deleted only when ALL of these hold:
 *  - the run had no read or write error (anything incomplete means "absent" proves nothing);
 *  - for every blueprint, candidates / entities in scope ≤ DELETE_THRESHOLD (a mass deletion is a glitch until
 *    proven otherwise);
 * and never for a subscription that has entities in Port but for which Resource Graph returned nothing at all, not
 * even its own row (lost permission, or a configured subscription we cannot see) — those are kept and reported.
 */
import { subscriptionOfIdentifier } from './scope.js';

export interface DeletionCandidates {
  blueprint: string;
  /** In Port and in scope, not seen in Azure. */
  candidates: string[];
  /** Entities of this blueprint in scope in Port before the run. */
  inScope: number;
}

export interface DeletionGuardInput {
  /** The run's read and write errors, retryable or not; any one of them means "absent in Azure" proves nothing. */
  incompleteReasons: string[];
  threshold: number;
  /** In deletion order: resources, then resource groups, then subscriptions. */
  blueprints: DeletionCandidates[];
  /** Subscriptions with entities in Port that returned no row at all from Resource Graph. */
  silentSubscriptions: string[];
  /** Subscriptions left out of the scope because they are not readable (configured, or with entities in Port). */
  unreadableSubscriptions?: string[];
}

export interface DeletionDecision {
  /** In deletion order; empty when skipped. */
  deletions: { blueprint: string; identifiers: string[] }[];
  /** Why some or all deletions were not made; undefined when nothing was held back. */
  skippedReason: string | undefined;
}

export function decideDeletions(input: DeletionGuardInput): DeletionDecision {
  const reasons: string[] = [];
  const silent = new Set(input.silentSubscriptions.map((s) => s.toLowerCase()));
  if (silent.size > 0) {
    reasons.push(
      `Resource Graph returned nothing for subscription(s) ${[...silent].sort().join(', ')} (lost permission or not visible); their entities were kept`,
    );
  }
  const unreadable = [...new Set((input.unreadableSubscriptions ?? []).map((s) => s.toLowerCase()))].sort();
  if (unreadable.length > 0) {
    reasons.push(
      `subscription(s) ${unreadable.join(', ')} are not readable by the identity (lost permission?); their entities were kept`,
    );
  }
  if (input.incompleteReasons.length > 0) {
    reasons.push(`run had read or write errors (${input.incompleteReasons.join('; ')}); no entity was deleted`);
    return { deletions: [], skippedReason: reasons.join('. ') };
  }

  const deletions = input.blueprints.map(({ blueprint, candidates }) => ({
    blueprint,
    identifiers: candidates.filter((id) => !silent.has(subscriptionOfIdentifier(id) ?? '')),
  }));
  const tooMany: string[] = [];
  input.blueprints.forEach(({ blueprint, inScope }, i) => {
    const count = deletions[i]!.identifiers.length;
    if (count === 0 || inScope === 0) return;
    const share = count / inScope;
    if (share > input.threshold) {
      tooMany.push(`${count} of ${inScope} ${blueprint} entities (${share.toFixed(2)} > DELETE_THRESHOLD ${input.threshold})`);
    }
  });
  if (tooMany.length > 0) {
    reasons.push(`deletion would remove ${tooMany.join(', ')}; no entity was deleted`);
    return { deletions: [], skippedReason: reasons.join('. ') };
  }
  return {
    deletions: deletions.filter((d) => d.identifiers.length > 0),
    skippedReason: reasons.length > 0 ? reasons.join('. ') : undefined,
  };
}
