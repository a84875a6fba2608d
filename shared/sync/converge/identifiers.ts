/**
 * From a Port identifier back to the (normalised) Azure id it was made from, for entities the core finds in Port
 * rather than in Azure (children of a deleted group, stale entities of a full sync). An identifier that is not an
 * exact round trip (cut and hashed because the id was over 1000 characters, or not made by us) gives undefined, and
 * such an entity is never deleted on a proof it cannot get.
 */
import { fromPortIdentifier, normalizeResourceId, toPortIdentifier } from '../../azure/resourceId.js';

export function azureIdOfIdentifier(identifier: string): string | undefined {
  const decoded = fromPortIdentifier(identifier);
  if (decoded === undefined || !decoded.startsWith('/subscriptions/')) return undefined;
  try {
    const id = normalizeResourceId(decoded);
    return toPortIdentifier(id) === identifier ? id : undefined;
  } catch {
    return undefined;
  }
}
