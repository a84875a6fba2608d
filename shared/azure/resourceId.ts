/**
 * Azure resource identity: the one place that turns any ARM id (event `resourceUri`, Resource Graph `id`, any
 * casing) into a stable key and a Port identifier. Identifiers and relation targets must both come from here,
 * otherwise casing drift between event samples (`resourcegroups`) and Resource Graph (`resourceGroups`) splits
 * one resource into two entities.
 */
import { createHash } from 'node:crypto';
import { PermanentError } from '../errors.js';

export type ResourceIdKind = 'subscription' | 'resourceGroup' | 'resource' | 'childResource' | 'nonResource';

export interface ParsedResourceId {
  /** Exactly as given. */
  original: string;
  /** normalizeResourceId(original). */
  normalized: string;
  kind: ResourceIdKind;
  /** As written in the id (original casing). */
  subscriptionId: string;
  /** As written in the id (original casing). */
  resourceGroup?: string;
  /** Lower-case, e.g. 'microsoft.storage'. For extension resources, the extension's namespace. */
  providerNamespace?: string;
  /** Full nested type, lower-case, e.g. 'microsoft.storage/storageaccounts/blobservices/containers'. */
  type?: string;
  /** Last name segment, original casing. */
  name?: string;
  /** Normalised id of the parent: resource group / subscription for top-level resources, the extended scope for extension resources. */
  parentId?: string;
}

/** Port's entity identifier rule (port-openapi.yaml). */
export const PORT_IDENTIFIER_PATTERN = /^(?!\.{1,2}$)[\p{L}0-9@_.+:\\/=-]+$/u;
export const PORT_IDENTIFIER_MAX_LENGTH = 1000;

/**
 * Types that an ARM write can touch but that are not catalog resources: they are configuration of another scope
 * (role assignments, locks, policy, diagnostic settings, tags) or deployment history.
 */
const NON_RESOURCE_TYPES: readonly string[] = [
  'microsoft.resources/deployments',
  'microsoft.resources/tags',
  'microsoft.resources/links',
  'microsoft.insights/diagnosticsettings',
];
const NON_RESOURCE_NAMESPACES: ReadonlySet<string> = new Set(['microsoft.authorization', 'microsoft.policyinsights']);

function invalid(id: string, problem: string): PermanentError {
  const shown = id.length > 300 ? `${id.slice(0, 300)}…` : id;
  return new PermanentError(`Not an Azure resource id (${problem}): "${shown}"`, {
    source: 'input',
    code: 'InvalidResourceId',
  });
}

/** Lower-case, single slashes, one leading slash, no trailing slash. Azure ids are case-insensitive; Port identifiers are not. */
export function normalizeResourceId(id: string): string {
  if (typeof id !== 'string') throw invalid(String(id), 'not a string');
  const collapsed = id.toLowerCase().replace(/\/{2,}/g, '/').replace(/\/+$/, '');
  return collapsed.startsWith('/') ? collapsed : `/${collapsed}`;
}

function isNonResourceType(fullType: string): boolean {
  const namespace = fullType.split('/')[0]!;
  if (NON_RESOURCE_NAMESPACES.has(namespace)) return true;
  return NON_RESOURCE_TYPES.some((t) => fullType === t || fullType.startsWith(`${t}/`));
}

/**
 * Parses a subscription-scoped ARM id. Throws PermanentError({source:'input'}) naming the problem for anything
 * else (tenant-level ids, type prefixes without a name, empty strings).
 */
export function parseResourceId(id: string): ParsedResourceId {
  if (typeof id !== 'string' || id.trim() === '') throw invalid(String(id), 'empty');
  const normalized = normalizeResourceId(id);
  // Segments keep the original casing for names; comparisons use lower-case.
  const segments = id.split('/').filter((s) => s !== '');
  const lower = segments.map((s) => s.toLowerCase());
  if (lower[0] !== 'subscriptions') throw invalid(id, 'must start with /subscriptions/');
  if (segments.length < 2) throw invalid(id, 'missing the subscription id');
  const subscriptionId = segments[1]!;
  const subscriptionPath = `/subscriptions/${lower[1]}`;
  if (segments.length === 2) {
    return { original: id, normalized, kind: 'subscription', subscriptionId, name: subscriptionId };
  }

  let index = 2;
  let resourceGroup: string | undefined;
  let scopePath = subscriptionPath;
  if (lower[2] === 'resourcegroups') {
    if (segments.length < 4) throw invalid(id, 'missing the resource group name');
    resourceGroup = segments[3]!;
    scopePath = `${subscriptionPath}/resourcegroups/${lower[3]}`;
    if (segments.length === 4) {
      return {
        original: id,
        normalized,
        kind: 'resourceGroup',
        subscriptionId,
        resourceGroup,
        name: resourceGroup,
        parentId: subscriptionPath,
      };
    }
    index = 4;
  }

  // One or more provider blocks: /providers/<ns>/<type>/<name>[/<childType>/<childName>]*; a second block is an
  // extension resource attached to whatever the first block names.
  let providerBlocks = 0;
  let extendedScope = scopePath;
  let currentPath = scopePath;
  let namespace = '';
  let typeSegments: string[] = [];
  let name = '';
  let lastParent = scopePath;
  while (index < segments.length) {
    if (lower[index] !== 'providers') {
      throw invalid(id, `expected "providers" at segment ${index + 1}, found "${segments[index]}"`);
    }
    const ns = lower[index + 1];
    if (ns === undefined) throw invalid(id, 'missing the provider namespace after "providers"');
    providerBlocks += 1;
    extendedScope = currentPath;
    namespace = ns;
    typeSegments = [];
    currentPath = `${currentPath}/providers/${ns}`;
    index += 2;
    let pairs = 0;
    while (index < segments.length && lower[index] !== 'providers') {
      const typeSegment = lower[index]!;
      const nameSegment = segments[index + 1];
      if (nameSegment === undefined) throw invalid(id, `type "${typeSegment}" has no name`);
      lastParent = currentPath;
      typeSegments.push(typeSegment);
      name = nameSegment;
      currentPath = `${currentPath}/${typeSegment}/${nameSegment.toLowerCase()}`;
      index += 2;
      pairs += 1;
    }
    if (pairs === 0) throw invalid(id, `provider "${segments[index - 1]}" has no resource type and name`);
  }
  if (providerBlocks === 0) throw invalid(id, 'unexpected trailing segments');

  const type = `${namespace}/${typeSegments.join('/')}`;
  const base = { original: id, normalized, subscriptionId, providerNamespace: namespace, type, name };
  const withGroup = resourceGroup === undefined ? base : { ...base, resourceGroup };
  if (providerBlocks > 1 || isNonResourceType(type)) {
    // An extension's parent is the scope it is attached to; a plain non-resource's parent is its container.
    const parentId = providerBlocks > 1 ? extendedScope : typeSegments.length > 1 ? lastParent : scopePath;
    return { ...withGroup, kind: 'nonResource', parentId };
  }
  if (typeSegments.length > 1) {
    // The parent of a child is the resource path up to the previous type/name pair.
    return { ...withGroup, kind: 'childResource', parentId: lastParent };
  }
  return { ...withGroup, kind: 'resource', parentId: scopePath };
}

/** The normalised subscription id of any subscription-scoped id (`/subscriptions/<id>`, lower-case). */
export function subscriptionIdOf(id: string): string {
  return parseResourceId(id).subscriptionId.toLowerCase();
}

/** `/subscriptions/<sub>/resourcegroups/<rg>` (normalised), or undefined for ids outside any resource group. */
export function resourceGroupIdOf(id: string): string | undefined {
  const parsed = parseResourceId(id);
  if (parsed.resourceGroup === undefined) return undefined;
  return `/subscriptions/${parsed.subscriptionId.toLowerCase()}/resourcegroups/${parsed.resourceGroup.toLowerCase()}`;
}

/** True when `id` is the resource group `rgId` itself or anything inside it (case-insensitive). */
export function isWithinResourceGroup(id: string, rgId: string): boolean {
  const group = normalizeResourceId(rgId);
  const target = normalizeResourceId(id);
  return target === group || target.startsWith(`${group}/`);
}

const ALLOWED_CHAR = /^[\p{L}0-9@_.+:\\/-]$/u;
const HASH_SUFFIX_LENGTH = 17; // '=' + 16 hex

/**
 * The Port identifier for any Azure id. Normalised (so any casing gives the same identifier), then characters
 * Port forbids are replaced: space → `_` (what Port's own Azure tools do, so existing entities keep their keys),
 * any other forbidden character and `=` itself → `=xx` (code point < 0x100) or `=u` + 6 hex digits. Being
 * prefix-free, that escape is injective apart from space vs. a literal `_`. Longer than 1000 characters:
 * truncated with a stable hash of the full identifier appended.
 */
export function toPortIdentifier(id: string): string {
  const normalized = normalizeResourceId(id);
  let out = '';
  for (const ch of normalized) {
    if (ch === ' ') out += '_';
    else if (ch !== '=' && ALLOWED_CHAR.test(ch)) out += ch;
    else {
      const cp = ch.codePointAt(0)!;
      out += cp < 0x100 ? `=${cp.toString(16).padStart(2, '0')}` : `=u${cp.toString(16).padStart(6, '0')}`;
    }
  }
  if (out.length > PORT_IDENTIFIER_MAX_LENGTH) {
    const hash = createHash('sha256').update(out).digest('hex').slice(0, HASH_SUFFIX_LENGTH - 1);
    let kept = '';
    // Cut on code points so a surrogate pair is never split.
    for (const ch of out) {
      if (kept.length + ch.length > PORT_IDENTIFIER_MAX_LENGTH - HASH_SUFFIX_LENGTH) break;
      kept += ch;
    }
    out = `${kept}=${hash}`;
  }
  // A normalised id starts with '/', so '.' and '..' cannot occur; guard anyway since Port rejects them.
  if (out === '.' || out === '..') out = out.replace(/\./g, '=2e');
  return out;
}
