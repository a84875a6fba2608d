/** What a run (or a batch) did per blueprint; recorded in the state entity and the run summary. */
export interface BlueprintCounts {
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  failed: number;
}

export interface RunCounts extends BlueprintCounts {
  byBlueprint: Record<string, BlueprintCounts>;
}

export function emptyCounts(): BlueprintCounts {
  return { created: 0, updated: 0, unchanged: 0, deleted: 0, failed: 0 };
}
