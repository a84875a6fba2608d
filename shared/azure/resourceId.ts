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
  // JSON quoting: a control character or lone surrogate in the id is shown escaped, never raw in a log line.
  return new PermanentError(`Not an Azure resource id (${problem}): ${JSON.stringify(shown)}`, {
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

/** Longer than any id Azure's per-name length limits allow; also the bound of a re-check message's id. */
export const MAX_RESOURCE_ID_LENGTH = 2048;
const CONTROL_CHARACTER = /\p{Cc}/u;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why `id` cannot be an ARM id, or undefined when it can. Names are otherwise free: Azure's naming rules differ per
 * resource type and admit quotes, pipes, spaces, parentheses and any script (`o'brien-sales`, `ml|team`,
 * `High CPU`), and nothing downstream depends on a name's characters (queries take ids as escaped literals,
 * identifiers escape them). What no ARM id has:
 * - a start other than `/subscriptions/` (one trailing `/` is tolerated);
 * - an empty segment (`//`): every type and name in the path is non-empty;
 * - a control character (Unicode Cc: U+0000–U+001F, U+007F–U+009F): no naming rule admits one, and ARM ids
 *   travel in request URLs;
 * - a lone surrogate: it has no UTF-8 form, so it cannot be in a URL or in JSON that Azure writes;
 * - more than 2048 characters.
 * The type/name structure (a name after every type) is checked by parseResourceId.
 */
export function armIdProblem(id: string): string | undefined {
  if (typeof id !== 'string') return 'not a string';
  if (id.trim() === '') return 'empty';
  if (id.length > MAX_RESOURCE_ID_LENGTH) return `${id.length} characters, longer than ${MAX_RESOURCE_ID_LENGTH}`;
  const control = CONTROL_CHARACTER.exec(id);
  if (control) return `control character U+${control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} at ${control.index}`;
  if (LONE_SURROGATE.test(id)) return 'an unpaired UTF-16 surrogate';
  if (!/^\/subscriptions\//i.test(id)) return 'must start with /subscriptions/';
  const segments = id.replace(/\/$/, '').split('/').slice(1);
  const empty = segments.indexOf('');
  if (empty >= 0) return `segment ${empty + 1} is empty`;
  return undefined;
}

/**
 * Parses a subscription-scoped ARM id. Throws PermanentError({source:'input'}) naming the problem for anything
 * that cannot be one (armIdProblem; tenant-level ids, type prefixes without a name).
 */
export function parseResourceId(id: string): ParsedResourceId {
  const problem = armIdProblem(id);
  if (problem !== undefined) throw invalid(String(id), problem);
  const normalized = normalizeResourceId(id);
  // Segments keep the original casing for names; comparisons use lower-case.
  const segments = id.split('/').filter((s) => s !== '');
  const lower = segments.map((s) => s.toLowerCase());
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

/** Kept as they are: Port's identifier characters except `=`, which is the escape character. */
const LITERAL_CHAR = /^[\p{L}0-9@_.+:\\/-]$/u;
/** Marks a truncated identifier. Never produced by escaping (an escape is `=` + hex digit or `=u`), see below. */
const TRUNCATION_MARKER = '=h';
/** 128 bits of SHA-256: a collision between two truncated identifiers with the same prefix is not a practical risk. */
const HASH_HEX_DIGITS = 32;
const TRUNCATED_PREFIX_MAX = PORT_IDENTIFIER_MAX_LENGTH - TRUNCATION_MARKER.length - HASH_HEX_DIGITS;

function escapeCodePoint(ch: string): string {
  const cp = ch.codePointAt(0)!;
  return cp < 0x100 ? `=${cp.toString(16).padStart(2, '0')}` : `=u${cp.toString(16).padStart(6, '0')}`;
}

/**
 * The Port identifier for any Azure id; the only function that makes one (identifiers and relation targets alike).
 *
 * One-to-one over normalised ids (any casing of an id gives the same identifier; two different ids never share one):
 * - the id is normalised (lower-case, see normalizeResourceId);
 * - each code point Port allows in an identifier is kept, except `=`; so a plain id reads as it is;
 * - every other code point (space, `=`, `(`, `'`, `|`, control characters, emoji, a lone surrogate) becomes
 *   `=` + two hex digits below U+0100 (`My RG` → `my=20rg`, `=` → `=3d`) or `=u` + six hex digits above
 *   (`😀` → `=u01f600`). Fixed widths and `u` not being a hex digit make every `=` sequence decode one way only,
 *   so the identifier decodes back to the normalised id (fromPortIdentifier);
 * - longer than 1000 characters: the longest prefix of whole tokens that fits is kept and `=h` + 32 hex digits of
 *   SHA-256 of the full escaped form appended. `=h` never occurs in an untruncated identifier (after `=` comes a
 *   hex digit or `u`), so a truncated identifier can never equal an untruncated one.
 */
export function toPortIdentifier(id: string): string {
  const normalized = normalizeResourceId(id);
  let out = '';
  // By code point: a surrogate pair is one character, a lone surrogate is escaped on its own.
  for (const ch of normalized) out += ch !== '=' && LITERAL_CHAR.test(ch) ? ch : escapeCodePoint(ch);
  // Always starts with '/', so it is never '.' or '..', which Port rejects.
  if (out.length <= PORT_IDENTIFIER_MAX_LENGTH) return out;
  const hash = createHash('sha256').update(out).digest('hex').slice(0, HASH_HEX_DIGITS);
  let kept = 0;
  for (let i = 0; i < out.length; ) {
    const next = i + tokenLength(out, i);
    if (next > TRUNCATED_PREFIX_MAX) break;
    i = next;
    kept = i;
  }
  return `${out.slice(0, kept)}${TRUNCATION_MARKER}${hash}`;
}

/** Length of the escape or literal token starting at `i` of an escaped identifier. */
function tokenLength(text: string, i: number): number {
  if (text[i] === '=') return text[i + 1] === 'u' ? 8 : 3;
  return text.codePointAt(i)! > 0xffff ? 2 : 1;
}

const HEX = /^[0-9a-f]+$/;

/**
 * Decodes an identifier made by toPortIdentifier back to the normalised Azure id; undefined for a truncated
 * identifier (its `=h` marker is not an escape) and for anything that is not a well-formed, canonical escape
 * sequence. Works on a part of an identifier too (a path segment), since an escape never spans a `/`.
 */
export function fromPortIdentifier(identifier: string): string | undefined {
  let out = '';
  for (let i = 0; i < identifier.length; ) {
    if (identifier[i] !== '=') {
      const ch = String.fromCodePoint(identifier.codePointAt(i)!);
      if (!LITERAL_CHAR.test(ch)) return undefined;
      out += ch;
      i += ch.length;
      continue;
    }
    const wide = identifier[i + 1] === 'u';
    const hex = identifier.slice(i + (wide ? 2 : 1), i + (wide ? 8 : 3));
    if (hex.length !== (wide ? 6 : 2) || !HEX.test(hex)) return undefined;
    const cp = Number.parseInt(hex, 16);
    // Only canonical escapes: what toPortIdentifier would have kept, or written the other way, is not ours.
    if ((wide && cp < 0x100) || cp > 0x10ffff) return undefined;
    const ch = String.fromCodePoint(cp);
    if (ch !== '=' && LITERAL_CHAR.test(ch)) return undefined;
    out += ch;
    i += wide ? 8 : 3;
  }
  return out;
}
