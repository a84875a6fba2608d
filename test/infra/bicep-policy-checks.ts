/**
 * Least-privilege and hygiene invariants of the Bicep under infra/, asserted on the tree-sitter syntax tree (see
 * bicep-checks.ts for the parsing helpers). Each check returns one line per problem, so tests can feed a broken
 * snippet and see it fail.
 */
import { type BicepFile, type ResourceDeclaration, arrayItems, decoratorNumber, literalBoolean, literalString, objectGet, resolveString, resourcesOf, where } from './bicep-checks.js';

const QUEUE = 'Microsoft.Storage/storageAccounts/queueServices/queues';
const CONTAINER = 'Microsoft.Storage/storageAccounts/blobServices/containers';
const SECRET = 'Microsoft.KeyVault/vaults/secrets';
const ACCOUNT = 'Microsoft.Storage/storageAccounts';

/** The narrowest scope each data-plane role may be granted at (roles not listed here are not restricted). */
const REQUIRED_SCOPE: { matches: (role: string) => boolean; scopes: string[]; why: string }[] = [
  { matches: (r) => r.startsWith('storageQueue'), scopes: [QUEUE], why: 'queue roles belong on the queue, not the account' },
  { matches: (r) => r.startsWith('storageBlob'), scopes: [CONTAINER], why: 'blob roles belong on a container, not the account' },
  { matches: (r) => r === 'keyVaultSecretsUser', scopes: [SECRET], why: 'the secrets role belongs on the one secret, not the vault' },
  // The host names its diagnostic-event tables by month, so the account is the narrowest scope that works.
  { matches: (r) => r.startsWith('storageTable'), scopes: [ACCOUNT], why: 'table roles are for the host\'s own tables only' },
];

/** The resource type a role assignment's `scope:` points at; undefined when it has none (the deployment scope). */
function scopeType(file: BicepFile, assignment: ResourceDeclaration): string | undefined {
  const scope = objectGet(assignment.body, 'scope');
  if (!scope) return undefined;
  const symbol = /^[A-Za-z_][A-Za-z0-9_]*/.exec(scope.text)?.[0];
  return resourcesOf(file).find((r) => r.symbol === symbol)?.type ?? `<unresolved ${scope.text}>`;
}

export function checkRoleScopes(files: BicepFile[]): string[] {
  const problems: string[] = [];
  for (const file of files) {
    for (const r of resourcesOf(file)) {
      if (r.existing || r.type !== 'Microsoft.Authorization/roleAssignments') continue;
      const at = `${where(file, r.node)}: role assignment ${r.symbol}`;
      const role = /builtInRoleIds\.([A-Za-z0-9]+)/.exec(objectGet(r.body, 'properties.roleDefinitionId')?.text ?? '')?.[1];
      if (!role) {
        problems.push(`${at} must name its role as builtInRoleIds.<role> so its scope can be checked`);
        continue;
      }
      const rule = REQUIRED_SCOPE.find((x) => x.matches(role));
      if (!rule) continue;
      const type = scopeType(file, r) ?? 'the deployment scope';
      if (!rule.scopes.includes(type)) problems.push(`${at} grants ${role} at ${type}: ${rule.why}`);
    }
  }
  return problems;
}

/** Every function app must refuse basic (user name and password) publishing on both SCM and FTP. */
export function checkBasicPublishingDisabled(files: BicepFile[]): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const resources = resourcesOf(file);
    for (const site of resources.filter((r) => !r.existing && r.type === 'Microsoft.Web/sites')) {
      for (const channel of ['scm', 'ftp']) {
        const policy = resources.find(
          (r) =>
            r.type === 'Microsoft.Web/sites/basicPublishingCredentialsPolicies' &&
            objectGet(r.body, 'parent')?.text === site.symbol &&
            literalString(objectGet(r.body, 'name')) === channel,
        );
        if (!policy) problems.push(`${where(file, site.node)}: site ${site.symbol} has no '${channel}' basicPublishingCredentialsPolicies resource`);
        else if (literalBoolean(objectGet(policy.body, 'properties.allow')) !== false) {
          problems.push(`${where(file, policy.node)}: ${policy.symbol} must set allow: false (basic ${channel} credentials stay disabled)`);
        }
      }
    }
  }
  return problems;
}

export function checkKeyVaultProtection(files: BicepFile[]): string[] {
  const problems: string[] = [];
  for (const file of files) {
    for (const r of resourcesOf(file)) {
      if (r.existing || r.type !== 'Microsoft.KeyVault/vaults') continue;
      const at = `${where(file, r.node)}: vault ${r.symbol}`;
      if (literalBoolean(objectGet(r.body, 'properties.enableSoftDelete')) !== true) problems.push(`${at} must set enableSoftDelete: true`);
      if (literalBoolean(objectGet(r.body, 'properties.enablePurgeProtection')) !== true) problems.push(`${at} must set enablePurgeProtection: true`);
    }
  }
  return problems;
}

/**
 * Blobs under `<container>/` must be deleted by an enabled lifecycle rule whose age limit comes from a parameter
 * (dead letters hold whole events, with claims).
 */
export function checkLifecycleDeletes(file: BicepFile, containerName: string): string[] {
  const parameters = new Set(file.root.descendantsOfType('parameter_declaration').map((p) => p.namedChildren[0]!.text));
  for (const policy of resourcesOf(file).filter((r) => !r.existing && r.type === 'Microsoft.Storage/storageAccounts/managementPolicies')) {
    for (const rule of arrayItems(objectGet(policy.body, 'properties.policy.rules')) ?? []) {
      if (literalBoolean(objectGet(rule, 'enabled')) !== true) continue;
      const prefixes = (arrayItems(objectGet(rule, 'definition.filters.prefixMatch')) ?? []).map((p) => resolveString(file, p));
      if (!prefixes.includes(`${containerName}/`)) continue;
      const days = objectGet(rule, 'definition.actions.baseBlob.delete.daysAfterModificationGreaterThan');
      if (days?.type === 'identifier' && parameters.has(days.text)) return [];
      return [`${where(file, rule)}: the lifecycle rule for ${containerName}/ must delete after a parameter's number of days`];
    }
  }
  return [`${file.path}: no enabled lifecycle rule deletes the blobs in ${containerName}/`];
}

/** @minValue/@maxValue of a parameter, for checking against a platform's documented range. */
export function parameterBounds(file: BicepFile, name: string): { min?: number; max?: number; default?: string } {
  const p = file.root.descendantsOfType('parameter_declaration').find((d) => d.namedChildren[0]?.text === name);
  if (!p) return {};
  const last = p.namedChildren[p.namedChildren.length - 1];
  const min = decoratorNumber(p, 'minValue');
  const max = decoratorNumber(p, 'maxValue');
  return {
    ...(min !== undefined ? { min } : {}),
    ...(max !== undefined ? { max } : {}),
    ...(p.namedChildren.length > 2 && last ? { default: literalString(last) ?? last.text } : {}),
  };
}
