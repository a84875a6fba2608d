export { runReconciliation, type ReconcileRequest, type RunSummary } from './runReconciliation.js';
export type { ReconcileDeps, ReconcileProgress, ReconcilePhase } from './context.js';
export { decideMode, type ModeDecision, type RequestedMode } from './mode.js';
export { decideDeletions, type DeletionDecision, type DeletionGuardInput } from './deletionGuard.js';
export { stateIdentifierFor, describeScope, subscriptionOfIdentifier } from './scope.js';
export { SyncStateStore, type SyncState, type RunMode, type RunStatus, type RunCounts, type ResyncRequest } from './state.js';
export type { BlueprintPlan, PlannedUpdate, WriteFailure } from '../converge/writer.js';
export { renderPlan, renderSummary } from './report.js';
