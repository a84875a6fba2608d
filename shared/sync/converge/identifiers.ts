/**
 * From a Port identifier back to the (normalised) Azure id it was made from, for entities the core finds in Port
 * rather than in Azure (children of a deleted group, stale entities of a full sync). The inverse of
 * toPortIdentifier; an identifier it cannot invert (cut and hashed because the id was over 1000 characters, or not
 * made by us) gives undefined, and such an entity is never deleted on proof it cannot get.
 */
import { normalizeResourceId, toPortIdentifier } from '../../azure/resourceId.js';

export function azureIdOfIdentifier(identifier: string): string | undefined {
  if (!identifier.startsWith('/subscriptions/')) return undefined;
  let out = '';
  for (let i = 0; i < identifier.length; i++) {
    const ch = identifier[i]!;
    if (ch !== '=') {
      out += ch === '_' ? '_' : ch;
      continue;
    }
    const wide = identifier[i + 1] === 'u';
    const hex = wide ? identifier.slice(i + 2, i + 8) : identifier.slice(i + 1, i + 3);
    if (!/^[0-9a-f]+$/.test(hex) || hex.length !== (wide ? 6 : 2)) return undefined;
    out += String.fromCodePoint(parseInt(hex, 16));
    i += wide ? 7 : 2;
  }
  // Only an exact round trip is trusted (this also rejects hashed, truncated identifiers).
  try {
    const id = normalizeResourceId(out);
    return toPortIdentifier(id) === identifier ? id : undefined;
  } catch {
    return undefined;
  }
}
