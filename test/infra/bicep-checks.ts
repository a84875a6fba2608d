/**
 * Offline checks for the Bicep under infra/. There is no Bicep compiler offline, so files are parsed with
 * tree-sitter-bicep (syntax only) and the deployment's invariants are asserted on the syntax tree.
 *
 * Every check returns a list of problems (empty when fine) so that one test run reports all of them, and so the
 * tests can feed each check a deliberately broken snippet to prove it can fail.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

type SyntaxNode = import('tree-sitter').SyntaxNode;

const require = createRequire(import.meta.url);
const Parser: typeof import('tree-sitter') = require('tree-sitter');
const bicepLanguage: unknown = require('tree-sitter-bicep');

const parser = new Parser();
parser.setLanguage(bicepLanguage as Parameters<typeof parser.setLanguage>[0]);

export interface BicepFile {
  /** Absolute path (or a made-up one for snippets); module paths resolve relative to it. */
  path: string;
  source: string;
  root: SyntaxNode;
}

export function parseBicep(path: string, source: string): BicepFile {
  return { path, source, root: parser.parse(source).rootNode };
}

export function loadBicepFiles(dir: string, extension = '.bicep'): BicepFile[] {
  const found: BicepFile[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(extension)) found.push(parseBicep(full, readFileSync(full, 'utf8')));
    }
  };
  walk(dir);
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

// ------------------------------------------------------------------------------------------ tree helpers

export function where(file: BicepFile, node: SyntaxNode): string {
  return `${relative(process.cwd(), file.path) || file.path}:${node.startPosition.row + 1}:${node.startPosition.column + 1}`;
}

function descendants(node: SyntaxNode, type: string): SyntaxNode[] {
  return node.descendantsOfType(type);
}

/** A plain string literal's value; undefined for anything else, including strings with interpolation. */
export function literalString(node: SyntaxNode | undefined | null): string | undefined {
  if (!node || node.type !== 'string') return undefined;
  if (node.namedChildren.some((c) => c.type === 'interpolation')) return undefined;
  const text = node.text;
  if (text.startsWith("'''")) return text.slice(3, -3);
  return text.slice(1, -1).replace(/\\(.)/g, (_m, ch: string) => ({ n: '\n', r: '\r', t: '\t' })[ch] ?? ch);
}

export function literalBoolean(node: SyntaxNode | undefined): boolean | undefined {
  if (!node || node.type !== 'boolean') return undefined;
  return node.text === 'true';
}

function propertyKey(property: SyntaxNode): string {
  const key = property.namedChildren[0]!;
  return literalString(key) ?? key.text;
}

function propertyValue(property: SyntaxNode): SyntaxNode | undefined {
  return property.namedChildren[property.namedChildren.length - 1];
}

/** The value of `key` in an object literal, or of a dotted path such as `properties.siteConfig.ftpsState`. */
export function objectGet(object: SyntaxNode | undefined, path: string): SyntaxNode | undefined {
  let current = object;
  for (const key of path.split('.')) {
    if (!current || current.type !== 'object') return undefined;
    const property = current.namedChildren.find((c) => c.type === 'object_property' && propertyKey(c) === key);
    current = property ? propertyValue(property) : undefined;
  }
  return current;
}

function objectKeys(object: SyntaxNode | undefined): { key: string; value: SyntaxNode | undefined; node: SyntaxNode }[] {
  if (!object || object.type !== 'object') return [];
  return object.namedChildren
    .filter((c) => c.type === 'object_property')
    .map((c) => ({ key: propertyKey(c), value: propertyValue(c), node: c }));
}

export function arrayItems(node: SyntaxNode | undefined): SyntaxNode[] | undefined {
  if (!node || node.type !== 'array') return undefined;
  return node.namedChildren.filter((c) => c.type !== 'comment');
}

/** The `{ … }` body of a resource or module, looking through `if (…)` and `[for … : …]`. */
function declarationBody(declaration: SyntaxNode): SyntaxNode | undefined {
  const value = declaration.namedChildren[declaration.namedChildren.length - 1];
  if (!value) return undefined;
  if (value.type === 'object') return value;
  return value.descendantsOfType('object')[0];
}

export interface ResourceDeclaration {
  file: BicepFile;
  node: SyntaxNode;
  symbol: string;
  /** e.g. `Microsoft.Storage/storageAccounts@2023-05-01` */
  typeWithVersion: string;
  type: string;
  existing: boolean;
  body: SyntaxNode | undefined;
}

export function resourcesOf(file: BicepFile): ResourceDeclaration[] {
  return descendants(file.root, 'resource_declaration').map((node) => {
    const typeWithVersion = literalString(node.namedChildren[1]) ?? node.namedChildren[1]?.text ?? '';
    return {
      file,
      node,
      symbol: node.namedChildren[0]?.text ?? '',
      typeWithVersion,
      type: typeWithVersion.split('@')[0]!,
      existing: node.children.some((c) => c.type === 'existing' || c.text === 'existing'),
      body: declarationBody(node),
    };
  });
}

interface ModuleDeclaration {
  file: BicepFile;
  node: SyntaxNode;
  symbol: string;
  path: string;
  body: SyntaxNode | undefined;
}

function modulesOf(file: BicepFile): ModuleDeclaration[] {
  return descendants(file.root, 'module_declaration').map((node) => ({
    file,
    node,
    symbol: node.namedChildren[0]?.text ?? '',
    path: literalString(node.namedChildren[1]) ?? '',
    body: declarationBody(node),
  }));
}

export function decoratorNames(declaration: SyntaxNode): string[] {
  const decorators = declaration.previousNamedSibling;
  if (!decorators || decorators.type !== 'decorators') return [];
  return decorators.descendantsOfType('call_expression').map((c) => c.namedChildren[0]?.text ?? '');
}

function secureParameters(file: BicepFile): Set<string> {
  return new Set(
    descendants(file.root, 'parameter_declaration')
      .filter((p) => decoratorNames(p).includes('secure'))
      .map((p) => p.namedChildren[0]!.text),
  );
}

/** Resolves a string with `${name}` interpolations of params (literal defaults) and vars (literal values). */
export function resolveString(file: BicepFile, node: SyntaxNode | undefined): string | undefined {
  if (!node) return undefined;
  if (node.type === 'identifier') return resolveIdentifier(file, node.text);
  if (node.type !== 'string') return undefined;
  const plain = literalString(node);
  if (plain !== undefined) return plain;
  let out = '';
  for (const part of node.namedChildren) {
    if (part.type === 'string_content' || part.type === 'escape_sequence') out += part.text;
    else if (part.type === 'interpolation') {
      const inner = part.namedChildren[0];
      const value = inner?.type === 'identifier' ? resolveIdentifier(file, inner.text) : undefined;
      if (value === undefined) return undefined;
      out += value;
    } else return undefined;
  }
  return out;
}

function resolveIdentifier(file: BicepFile, name: string): string | undefined {
  for (const p of descendants(file.root, 'parameter_declaration')) {
    if (p.namedChildren[0]?.text === name) return literalString(p.namedChildren[p.namedChildren.length - 1]);
  }
  for (const v of descendants(file.root, 'variable_declaration')) {
    if (v.namedChildren[0]?.text === name) return resolveString(file, v.namedChildren[v.namedChildren.length - 1]);
  }
  return undefined;
}

function identifiersIn(node: SyntaxNode | undefined): Set<string> {
  if (!node) return new Set();
  const found = new Set(node.descendantsOfType('identifier').map((i) => i.text));
  if (node.type === 'identifier') found.add(node.text);
  return found;
}

/** Source with comments blanked out, so prose in comments cannot trip text checks. */
function codeOnly(file: BicepFile): string {
  let text = file.source;
  for (const comment of descendants(file.root, 'comment')) {
    text = text.slice(0, comment.startIndex) + ' '.repeat(comment.endIndex - comment.startIndex) + text.slice(comment.endIndex);
  }
  return text;
}

// ------------------------------------------------------------------------------------------ checks

export function checkSyntax(files: BicepFile[]): string[] {
  const problems: string[] = [];
  for (const file of files) {
    if (!file.root.hasError) continue;
    const bad: string[] = [];
    const walk = (n: SyntaxNode): void => {
      if (n.type === 'ERROR') bad.push(`ERROR at ${where(file, n)} near "${n.text.slice(0, 40).replace(/\s+/g, ' ')}"`);
      else if (n.isMissing) bad.push(`MISSING ${n.type} at ${where(file, n)}`);
      for (const c of n.children) walk(c);
    };
    walk(file.root);
    problems.push(`${relative(process.cwd(), file.path)} does not parse: ${bad.join('; ') || 'unknown error'}`);
  }
  return problems;
}

const PINNED_TYPE = /^[A-Za-z0-9]+(\.[A-Za-z0-9]+)+\/[A-Za-z0-9]+(\/[A-Za-z0-9]+)*@\d{4}-\d{2}-\d{2}$/;

export function checkPinnedApiVersions(files: BicepFile[]): string[] {
  return files.flatMap((file) =>
    resourcesOf(file)
      .filter((r) => !PINNED_TYPE.test(r.typeWithVersion))
      .map((r) => `${where(file, r.node)}: resource ${r.symbol} type '${r.typeWithVersion}' must be a full type with a pinned GA @yyyy-mm-dd API version`),
  );
}

export function checkModuleSources(files: BicepFile[]): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const references = [
      ...modulesOf(file).map((m) => ({ node: m.node, path: m.path, what: `module ${m.symbol}` })),
      ...descendants(file.root, 'import_functionality').map((node) => ({
        node,
        path: literalString(node.descendantsOfType('string').at(-1)) ?? '',
        what: 'import',
      })),
    ];
    for (const ref of references) {
      if (/^(br|ts)[:/]/.test(ref.path)) {
        problems.push(`${where(file, ref.node)}: ${ref.what} uses registry reference '${ref.path}'; declare raw resources instead`);
      } else if (!existsSync(resolve(dirname(file.path), ref.path))) {
        problems.push(`${where(file, ref.node)}: ${ref.what} points at '${ref.path}', which does not exist`);
      }
    }
  }
  return problems;
}

export interface AppSetting {
  name: string;
  value: SyntaxNode | undefined;
  node: SyntaxNode;
}

/** App settings from `Microsoft.Web/sites/config` named `appsettings`, or from `siteConfig.appSettings`. */
export function appSettingsOf(file: BicepFile): AppSetting[] {
  const settings: AppSetting[] = [];
  for (const r of resourcesOf(file)) {
    if (r.existing) continue;
    if (r.type === 'Microsoft.Web/sites/config' && resolveString(file, objectGet(r.body, 'name')) === 'appsettings') {
      for (const { key, value, node } of objectKeys(objectGet(r.body, 'properties'))) settings.push({ name: key, value, node });
    }
    if (r.type === 'Microsoft.Web/sites') {
      for (const item of arrayItems(objectGet(r.body, 'properties.siteConfig.appSettings')) ?? []) {
        const name = literalString(objectGet(item, 'name'));
        if (name) settings.push({ name, value: objectGet(item, 'value'), node: item });
      }
    }
  }
  return settings;
}

/** Settings Flex Consumption rejects or ignores; their presence means a Consumption/Premium template was copied. */
const NOT_ON_FLEX = [
  'FUNCTIONS_WORKER_RUNTIME',
  'FUNCTIONS_EXTENSION_VERSION',
  'WEBSITE_NODE_DEFAULT_VERSION',
  'WEBSITE_RUN_FROM_PACKAGE',
  'WEBSITE_CONTENTSHARE',
  'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
];

export interface SettingsContract {
  settingNames: readonly string[];
  aliases: readonly string[];
  required: readonly string[];
  hostSettings: readonly string[];
}

export function checkAppSettings(file: BicepFile, contract: SettingsContract): string[] {
  const settings = appSettingsOf(file);
  if (settings.length === 0) return [`${relative(process.cwd(), file.path)}: no app settings found (Microsoft.Web/sites/config 'appsettings')`];
  const names = new Set(settings.map((s) => s.name));
  const problems: string[] = [];
  for (const required of contract.required) {
    const present =
      names.has(required) || (required === 'AzureWebJobsStorage' && [...names].some((n) => n.startsWith('AzureWebJobsStorage__')));
    if (!present) problems.push(`required setting ${required} is not set in the app settings of ${relative(process.cwd(), file.path)}`);
  }
  const known = new Set([...contract.settingNames, ...contract.aliases, ...contract.hostSettings]);
  for (const s of settings) {
    if (NOT_ON_FLEX.includes(s.name)) problems.push(`${where(file, s.node)}: ${s.name} must not be set on Flex Consumption`);
    else if (!known.has(s.name)) problems.push(`${where(file, s.node)}: app setting ${s.name} is not read by the code (not in shared/settings.ts) nor a documented host setting`);
  }
  const seen = new Set<string>();
  for (const s of settings) {
    if (seen.has(s.name)) problems.push(`${where(file, s.node)}: app setting ${s.name} is set twice`);
    seen.add(s.name);
  }
  return problems;
}

/**
 * Every setting the code reads must be set, so a deployment states the whole configuration; `exempt` names the
 * few that identity-based hosting replaces, each with the reason.
 */
export function checkEverySettingSet(file: BicepFile, settingNames: readonly string[], exempt: Readonly<Record<string, string>>): string[] {
  const names = new Set(appSettingsOf(file).map((s) => s.name));
  return settingNames
    .filter((name) => !names.has(name) && !(name in exempt))
    .map((name) => `setting ${name} is read by the code (shared/settings.ts) but not set in the app settings of ${relative(process.cwd(), file.path)}`);
}

export interface ParameterDefault {
  setting: string;
  parameter: string;
  /** The default as the app setting will hold it (ints rendered as by `string()`). */
  value: string;
  minValue?: number;
  maxValue?: number;
}

export function decoratorNumber(declaration: SyntaxNode, name: string): number | undefined {
  const decorators = declaration.previousNamedSibling;
  if (!decorators || decorators.type !== 'decorators') return undefined;
  for (const call of decorators.descendantsOfType('call_expression')) {
    if (call.namedChildren[0]?.text !== name) continue;
    const argument = call.descendantsOfType('number')[0];
    const sign = call.text.includes('-') ? -1 : 1;
    return argument ? sign * Number(argument.text) : undefined;
  }
  return undefined;
}

/**
 * App settings fed straight from a parameter with a literal default (`NAME: param` or `NAME: string(param)`), with
 * that default and the parameter's @minValue/@maxValue, so tests can hold them to the code's own defaults and ranges.
 */
export function appSettingParameterDefaults(file: BicepFile): ParameterDefault[] {
  const parameters = new Map(descendants(file.root, 'parameter_declaration').map((p) => [p.namedChildren[0]!.text, p]));
  const out: ParameterDefault[] = [];
  for (const setting of appSettingsOf(file)) {
    const value = setting.value;
    const name =
      value?.type === 'identifier'
        ? value.text
        : value?.type === 'call_expression' && value.namedChildren[0]?.text === 'string'
          ? value.namedChildren[1]?.namedChildren.length === 1 && value.namedChildren[1].namedChildren[0]!.type === 'identifier'
            ? value.namedChildren[1].namedChildren[0]!.text
            : undefined
          : undefined;
    const declaration = name ? parameters.get(name) : undefined;
    if (!declaration || declaration.namedChildren.length < 3) continue;
    const fallback = declaration.namedChildren[declaration.namedChildren.length - 1]!;
    const literal = fallback.type === 'number' ? fallback.text : literalString(fallback);
    if (literal === undefined) continue;
    const minValue = decoratorNumber(declaration, 'minValue');
    const maxValue = decoratorNumber(declaration, 'maxValue');
    out.push({
      setting: setting.name,
      parameter: name!,
      value: literal,
      ...(minValue !== undefined ? { minValue } : {}),
      ...(maxValue !== undefined ? { maxValue } : {}),
    });
  }
  return out;
}

/** Values of every `StringNotBeginsWith` advanced filter on `data.operationName` (the noise prefixes). */
export function operationNameExclusions(files: BicepFile[]): string[] {
  const out: string[] = [];
  for (const file of files) {
    for (const r of resourcesOf(file)) {
      if (r.existing || !r.type.endsWith('/eventSubscriptions')) continue;
      for (const filter of arrayItems(objectGet(r.body, 'properties.filter.advancedFilters')) ?? []) {
        if (literalString(objectGet(filter, 'operatorType')) !== 'StringNotBeginsWith') continue;
        if (literalString(objectGet(filter, 'key')) !== 'data.operationName') continue;
        for (const v of arrayItems(objectGet(filter, 'values')) ?? []) out.push(literalString(v) ?? v.text);
      }
    }
  }
  return out;
}

const SECRET_OUTPUT_NAME = /password|connectionstring|accesskey|accountkey|sastoken|secretvalue|clientsecret$/i;

export function checkNoPlainSecrets(files: BicepFile[], secretSettings: Iterable<string>): string[] {
  const problems: string[] = [];
  const secretNames = new Set(secretSettings);
  for (const file of files) {
    const secureParams = secureParameters(file);
    const code = codeOnly(file);
    for (const match of code.matchAll(/\blist(Keys|AccountSas|ServiceSas|Secrets|ConnectionStrings)?\s*\(/g)) {
      const line = code.slice(0, match.index).split('\n').length;
      problems.push(`${relative(process.cwd(), file.path)}:${line}: ${match[0].trim()} reads keys or secrets at deploy time; use identities instead`);
    }
    for (const setting of appSettingsOf(file)) {
      const referenced = [...identifiersIn(setting.value)].filter((id) => secureParams.has(id));
      if (referenced.length > 0) {
        problems.push(`${where(file, setting.node)}: app setting ${setting.name} carries secure parameter ${referenced.join(', ')} in plain text; use a Key Vault reference`);
      }
      if (secretNames.has(setting.name) && setting.name !== 'AzureWebJobsStorage') {
        const value = setting.value?.type === 'string' ? setting.value.text.slice(1) : '';
        if (!value.startsWith('@Microsoft.KeyVault(')) {
          problems.push(`${where(file, setting.node)}: ${setting.name} must be a Key Vault reference '@Microsoft.KeyVault(SecretUri=…)'`);
        }
      }
      if (setting.name === 'AzureWebJobsStorage') {
        problems.push(`${where(file, setting.node)}: AzureWebJobsStorage as a connection string needs a key; use AzureWebJobsStorage__* identity settings`);
      }
    }
    for (const output of descendants(file.root, 'output_declaration')) {
      const name = output.namedChildren[0]?.text ?? '';
      const value = output.namedChildren[output.namedChildren.length - 1];
      const referenced = [...identifiersIn(value)].filter((id) => secureParams.has(id));
      if (SECRET_OUTPUT_NAME.test(name)) problems.push(`${where(file, output)}: output ${name} looks like a secret; deployment outputs are readable by anyone with read access`);
      if (referenced.length > 0) problems.push(`${where(file, output)}: output ${name} exposes secure parameter ${referenced.join(', ')}`);
      if (decoratorNames(output).includes('secure')) problems.push(`${where(file, output)}: output ${name} is a secure output; pass secrets through Key Vault`);
    }
  }
  return problems;
}

export function checkSiteHardening(files: BicepFile[]): string[] {
  const problems: string[] = [];
  let sites = 0;
  for (const file of files) {
    for (const r of resourcesOf(file)) {
      if (r.existing || r.type !== 'Microsoft.Web/sites') continue;
      sites++;
      const at = `${where(file, r.node)}: site ${r.symbol}`;
      if (literalBoolean(objectGet(r.body, 'properties.httpsOnly')) !== true) problems.push(`${at} must set httpsOnly: true`);
      if (literalString(objectGet(r.body, 'properties.siteConfig.minTlsVersion')) !== '1.2') problems.push(`${at} must set siteConfig.minTlsVersion: '1.2'`);
      if (literalString(objectGet(r.body, 'properties.siteConfig.ftpsState')) !== 'Disabled') problems.push(`${at} must set siteConfig.ftpsState: 'Disabled'`);
      if (literalString(objectGet(r.body, 'kind')) !== 'functionapp,linux') problems.push(`${at} must be kind 'functionapp,linux'`);
      if (literalString(objectGet(r.body, 'properties.functionAppConfig.runtime.name')) !== 'node') problems.push(`${at} must run the node runtime`);
      if (literalString(objectGet(r.body, 'properties.functionAppConfig.runtime.version')) !== '22') problems.push(`${at} must run Node 22`);
      const storageAuth = literalString(objectGet(r.body, 'properties.functionAppConfig.deployment.storage.authentication.type'));
      if (!storageAuth || !/Identity$/.test(storageAuth)) problems.push(`${at} must read its deployment package with a managed identity`);
    }
    for (const r of resourcesOf(file)) {
      if (r.existing || r.type !== 'Microsoft.Web/serverfarms') continue;
      if (literalString(objectGet(r.body, 'sku.name')) !== 'FC1' || literalString(objectGet(r.body, 'sku.tier')) !== 'FlexConsumption') {
        problems.push(`${where(file, r.node)}: plan ${r.symbol} must be sku FC1 / FlexConsumption`);
      }
      if (literalBoolean(objectGet(r.body, 'properties.reserved')) !== true) problems.push(`${where(file, r.node)}: plan ${r.symbol} must be reserved (Linux)`);
    }
  }
  if (sites === 0) problems.push('no Microsoft.Web/sites resource found');
  return problems;
}

export function checkStorageAndVault(files: BicepFile[]): string[] {
  const problems: string[] = [];
  for (const file of files) {
    for (const r of resourcesOf(file)) {
      if (r.existing) continue;
      const at = `${where(file, r.node)}: ${r.symbol}`;
      if (r.type === 'Microsoft.Storage/storageAccounts') {
        if (literalBoolean(objectGet(r.body, 'properties.allowSharedKeyAccess')) !== false) problems.push(`${at} must set allowSharedKeyAccess: false`);
        if (literalBoolean(objectGet(r.body, 'properties.allowBlobPublicAccess')) !== false) problems.push(`${at} must set allowBlobPublicAccess: false`);
        if (literalString(objectGet(r.body, 'properties.minimumTlsVersion')) !== 'TLS1_2') problems.push(`${at} must set minimumTlsVersion: 'TLS1_2'`);
      }
      if (r.type === 'Microsoft.Storage/storageAccounts/blobServices/containers') {
        const access = literalString(objectGet(r.body, 'properties.publicAccess'));
        if (access !== undefined && access !== 'None') problems.push(`${at} must not allow public access`);
      }
      if (r.type === 'Microsoft.KeyVault/vaults') {
        if (literalBoolean(objectGet(r.body, 'properties.enableRbacAuthorization')) !== true) problems.push(`${at} must set enableRbacAuthorization: true`);
      }
      if (r.type === 'Microsoft.Insights/components') {
        if (literalBoolean(objectGet(r.body, 'properties.DisableLocalAuth')) !== true) problems.push(`${at} must set DisableLocalAuth: true (Entra ingestion only)`);
      }
    }
  }
  return problems;
}

/** Queue names declared as resources in `file`, with param/var interpolation resolved. */
export function queueNamesOf(file: BicepFile): string[] {
  return resourcesOf(file)
    .filter((r) => !r.existing && r.type === 'Microsoft.Storage/storageAccounts/queueServices/queues')
    .map((r) => resolveString(file, objectGet(r.body, 'name')) ?? `<unresolved ${r.symbol}>`);
}

export interface BuiltInRole {
  name: string;
  id: string;
}

const normaliseRoleName = (s: string) => s.replace(/[^a-z0-9]/gi, '').toLowerCase();

export function checkRoleAssignments(files: BicepFile[], builtInRoles: readonly BuiltInRole[]): string[] {
  const problems: string[] = [];
  const byId = new Map(builtInRoles.map((r) => [r.id.toLowerCase(), r]));
  for (const file of files) {
    // A role GUID may only appear as `<roleNameInCamelCase>: '<guid>'`, so its name can be checked against the table.
    for (const str of descendants(file.root, 'string')) {
      const value = literalString(str);
      if (!value || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) continue;
      const role = byId.get(value.toLowerCase());
      const parent = str.parent;
      const key = parent?.type === 'object_property' && propertyValue(parent) === str ? propertyKey(parent) : undefined;
      if (!role) problems.push(`${where(file, str)}: '${value}' is not a built-in role id from the reference table`);
      else if (!key) problems.push(`${where(file, str)}: role id '${value}' (${role.name}) must be declared in a named role table, not inline`);
      else if (normaliseRoleName(key) !== normaliseRoleName(role.name)) {
        problems.push(`${where(file, str)}: '${key}' is mapped to ${value}, which is the id of ${role.name}`);
      }
    }
    for (const r of resourcesOf(file)) {
      if (r.existing || r.type !== 'Microsoft.Authorization/roleAssignments') continue;
      const at = `${where(file, r.node)}: role assignment ${r.symbol}`;
      if (literalString(objectGet(r.body, 'properties.principalType')) !== 'ServicePrincipal') problems.push(`${at} must set principalType: 'ServicePrincipal'`);
      const name = objectGet(r.body, 'name');
      if (name?.type !== 'call_expression' || name.namedChildren[0]?.text !== 'guid') problems.push(`${at} name must be guid(scope, principal, role)`);
      const roleDefinition = objectGet(r.body, 'properties.roleDefinitionId');
      if (!roleDefinition || !/(subscription|tenant)ResourceId\('Microsoft\.Authorization\/roleDefinitions'/.test(roleDefinition.text)) {
        problems.push(`${at} roleDefinitionId must be subscriptionResourceId('Microsoft.Authorization/roleDefinitions', …)`);
      }
    }
  }
  return problems;
}

const EXPECTED_EVENT_TYPES = ['Microsoft.Resources.ResourceDeleteSuccess', 'Microsoft.Resources.ResourceWriteSuccess'];
/** The opt-in Azure Resource Notifications subscription (issue #14): its own two types, on its own topic type. */
const NOTIFICATION_EVENT_TYPES = ['Microsoft.ResourceNotifications.Resources.CreatedOrUpdated', 'Microsoft.ResourceNotifications.Resources.Deleted'];
const TOPIC_TYPES = ['Microsoft.Resources.Subscriptions', 'Microsoft.ResourceNotifications.Resources'];

export function checkEventSubscriptions(files: BicepFile[]): string[] {
  const problems: string[] = [];
  let count = 0;
  for (const file of files) {
    for (const r of resourcesOf(file)) {
      if (r.existing || !r.type.endsWith('/eventSubscriptions')) continue;
      count++;
      const at = `${where(file, r.node)}: event subscription ${r.symbol}`;
      const properties = objectGet(r.body, 'properties');
      const types = (arrayItems(objectGet(properties, 'filter.includedEventTypes')) ?? []).map((n) => literalString(n) ?? n.text).sort();
      if (JSON.stringify(types) !== JSON.stringify(EXPECTED_EVENT_TYPES) && JSON.stringify(types) !== JSON.stringify(NOTIFICATION_EVENT_TYPES)) {
        problems.push(`${at} includedEventTypes must be exactly ${EXPECTED_EVENT_TYPES.join(', ')} (or ${NOTIFICATION_EVENT_TYPES.join(', ')}), got ${types.join(', ') || 'none'}`);
      }
      const filters = arrayItems(objectGet(properties, 'filter.advancedFilters')) ?? [];
      let values = 0;
      for (const filter of filters) {
        const list = arrayItems(objectGet(filter, 'values'));
        if (!list) problems.push(`${where(file, filter)}: advanced filter values must be a literal array so the 25-value limit can be checked`);
        else values += list.length;
      }
      if (filters.length > 25) problems.push(`${at} has ${filters.length} advanced filters; Event Grid allows at most 25`);
      if (values > 25) problems.push(`${at} has ${values} advanced filter values in total; Event Grid allows at most 25`);
      if (literalString(objectGet(properties, 'eventDeliverySchema')) !== 'EventGridSchema') problems.push(`${at} must use eventDeliverySchema 'EventGridSchema'`);
      if (objectGet(properties, 'destination')) problems.push(`${at} must deliver with the topic identity (deliveryWithResourceIdentity), not a key-based destination`);
      if (literalString(objectGet(properties, 'deliveryWithResourceIdentity.destination.endpointType')) !== 'StorageQueue') {
        problems.push(`${at} must deliver to a StorageQueue through deliveryWithResourceIdentity`);
      }
      if (!objectGet(properties, 'deliveryWithResourceIdentity.destination.properties.queueMessageTimeToLiveInSeconds')) {
        problems.push(`${at} must set queueMessageTimeToLiveInSeconds`);
      }
      if (literalString(objectGet(properties, 'deadLetterWithResourceIdentity.deadLetterDestination.endpointType')) !== 'StorageBlob') {
        problems.push(`${at} must dead-letter to a blob container through deadLetterWithResourceIdentity`);
      }
      if (!objectGet(properties, 'retryPolicy')) problems.push(`${at} must set a retryPolicy`);
    }
    for (const r of resourcesOf(file)) {
      if (r.existing || r.type !== 'Microsoft.EventGrid/systemTopics') continue;
      const at = `${where(file, r.node)}: system topic ${r.symbol}`;
      if (literalString(objectGet(r.body, 'location')) !== 'global') problems.push(`${at} location must be 'global'`);
      if (!TOPIC_TYPES.includes(literalString(objectGet(r.body, 'properties.topicType')) ?? '')) problems.push(`${at} topicType must be ${TOPIC_TYPES.join(' or ')}`);
      if (literalString(objectGet(r.body, 'identity.type')) !== 'SystemAssigned') problems.push(`${at} needs a system-assigned identity to deliver`);
    }
  }
  if (count === 0) problems.push('no Event Grid event subscription found');
  return problems;
}

/**
 * Event Grid refuses to create a subscription whose identity cannot write yet, so whatever deploys an event
 * subscription must depend on whatever grants the topic its roles.
 */
export function checkEventSubscriptionOrdering(files: BicepFile[]): string[] {
  const byPath = new Map(files.map((f) => [resolve(f.path), f]));
  const declares = (file: BicepFile | undefined, type: string) => !!file && resourcesOf(file).some((r) => !r.existing && r.type === type);
  const problems: string[] = [];
  for (const file of files) {
    const modules = modulesOf(file);
    const roleSymbols = new Set([
      ...resourcesOf(file).filter((r) => !r.existing && r.type === 'Microsoft.Authorization/roleAssignments').map((r) => r.symbol),
      ...modules.filter((m) => declares(byPath.get(resolve(dirname(file.path), m.path)), 'Microsoft.Authorization/roleAssignments')).map((m) => m.symbol),
    ]);
    const targets = [
      ...modules
        .filter((m) => {
          const target = byPath.get(resolve(dirname(file.path), m.path));
          return !!target && resourcesOf(target).some((r) => !r.existing && r.type.endsWith('/eventSubscriptions'));
        })
        .map((m) => ({ node: m.node, symbol: m.symbol, body: m.body })),
      ...(roleSymbols.size > 0
        ? resourcesOf(file).filter((r) => !r.existing && r.type.endsWith('/eventSubscriptions')).map((r) => ({ node: r.node, symbol: r.symbol, body: r.body }))
        : []),
    ];
    for (const t of targets) {
      const dependsOn = new Set((arrayItems(objectGet(t.body, 'dependsOn')) ?? []).map((n) => n.text));
      if (![...dependsOn].some((d) => roleSymbols.has(d))) {
        problems.push(`${where(file, t.node)}: ${t.symbol} creates an event subscription but does not dependsOn the role assignments for the topic identity`);
      }
    }
  }
  return problems;
}

// ------------------------------------------------------------------------------------------ .bicepparam

/**
 * tree-sitter-bicep 1.1.0 parses `using` but not `param name = value` (it expects a type). Rewriting each
 * `param name =` to `var name =` keeps every value expression intact, so the values still get a real parse.
 */
export function checkBicepParam(path: string, source: string, target: BicepFile | undefined): string[] {
  const problems: string[] = [];
  const rel = relative(process.cwd(), path);
  const usingMatch = /^\s*using\s+'([^']+)'\s*$/m.exec(source);
  if (!usingMatch) return [`${rel}: missing "using '<file>.bicep'" line`];
  if (!target) return [`${rel}: using '${usingMatch[1]}' does not point at a parsed .bicep file`];
  const assigned = [...source.matchAll(/^\s*param\s+([A-Za-z_][A-Za-z0-9_]*)\s*=/gm)].map((m) => m[1]!);
  const rewritten = source.replace(/^(\s*)param(\s+[A-Za-z_][A-Za-z0-9_]*\s*=)/gm, '$1var$2');
  problems.push(...checkSyntax([parseBicep(path, rewritten)]));

  const declared = new Map(
    descendants(target.root, 'parameter_declaration').map((p) => [
      p.namedChildren[0]!.text,
      { hasDefault: p.namedChildren.length > 2, secure: decoratorNames(p).includes('secure') },
    ]),
  );
  for (const name of assigned) {
    if (!declared.has(name)) problems.push(`${rel}: param ${name} is not declared in ${usingMatch[1]}`);
  }
  for (const [name, info] of declared) {
    if (!info.hasDefault && !assigned.includes(name)) problems.push(`${rel}: required param ${name} of ${usingMatch[1]} is not set`);
    if (info.secure) {
      const line = new RegExp(`^\\s*param\\s+${name}\\s*=\\s*(.+)$`, 'm').exec(source);
      if (line && /^'.+'/.test(line[1]!.trim())) problems.push(`${rel}: secure param ${name} must not hold a literal; read it with readEnvironmentVariable()`);
    }
  }
  return problems;
}
