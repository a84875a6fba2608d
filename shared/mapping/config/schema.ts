/**
 * The port-app-config format (Port's integration mapping, ../shared/reference/port-api.md §9), as this app
 * accepts it: one zod schema, strict everywhere, so a key Port's format has but this app does not support is
 * rejected with a message saying why, never silently ignored. jq expressions are only checked to be strings here;
 * shared/mapping/config/load.ts compiles them.
 */
import { z } from 'zod';

/** What a key Port knows but this app rejects means, and what to write instead. */
export const UNSUPPORTED_KEYS: Record<string, string> = {
  itemsToParse: 'itemsToParse is not supported: each Resource Graph row maps to at most one entity per entry (add another entry instead)',
  changelogDestination: 'changelogDestination belongs to the integration, not to its mapping',
};

/** Selector keys of Port's Azure Resource Graph integration that do not change what this app reads. */
export const IGNORED_SELECTOR_KEYS: Record<string, string> = {
  apiParams: 'selector.apiParams is ignored: this app always uses Resource Graph API 2024-04-01',
  subscription: 'selector.subscription is ignored: subscriptions come from AZURE_SUBSCRIPTION_IDS / AZURE_MANAGEMENT_GROUP_IDS',
};

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

const jq = (what: string) =>
  z.unknown().transform((value, ctx): string => {
    if (typeof value === 'string' && value.trim() !== '') return value;
    let message = `must be a jq expression written as a string (${what}), got ${describe(value)}`;
    if (value === undefined) message = `is required (${what})`;
    else if (typeof value === 'string') message = `must not be empty (${what})`;
    else if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'combinator' in value) {
      message = 'search queries ({combinator, rules}) are not supported here: map the identifier with a jq expression';
    } else if (typeof value === 'number' || typeof value === 'boolean') {
      message += `; to map a constant, quote it as jq: '${JSON.stringify(value)}'`;
    }
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  });

const optionalJq = (what: string) => jq(what).optional();

const mappingsSchema = z.strictObject({
  identifier: jq('the entity identifier, e.g. .portIdentifier'),
  title: optionalJq('the entity title, e.g. .name'),
  icon: optionalJq('an icon name'),
  blueprint: jq(`the blueprint, a constant such as '"azureStorageAccount"' or $blueprints.resource`),
  team: optionalJq('a team name or a list of team names'),
  properties: z.record(z.string(), jq('the property value')).default({}),
  relations: z.record(z.string(), jq('the related entity identifier(s)')).default({}),
});

const selectorSchema = z.looseObject({
  query: jq('a jq expression giving true or false, e.g. \'true\''),
  graphQuery: z.string({ error: 'must be a Resource Graph (KQL) query written as a string' }).optional(),
});

const entrySchema = z.strictObject({
  kind: z.string({ error: 'is required: subscription, resourceGroup (or resourceContainer), resource, or an Azure resource type such as Microsoft.Storage/storageAccounts' }),
  selector: selectorSchema,
  port: z.strictObject({
    entity: z.strictObject({
      mappings: z.unknown().transform((value, ctx) => {
        if (Array.isArray(value)) {
          ctx.addIssue({ code: 'custom', message: 'a list of mappings is not supported: write one entry per entity in resources[]' });
          return z.NEVER;
        }
        const parsed = mappingsSchema.safeParse(value);
        if (!parsed.success) {
          for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: issue.path } as Parameters<typeof ctx.addIssue>[0]);
          return z.NEVER;
        }
        return parsed.data;
      }),
    }),
    itemsToParse: z.unknown().optional(),
  }),
});

const ratio = z.number({ error: 'must be a number from 0 to 1' }).min(0, 'must be a number from 0 to 1').max(1, 'must be a number from 0 to 1');

export const portAppConfigSchema = z.strictObject({
  deleteDependentEntities: z.boolean({ error: 'must be true or false' }).optional(),
  createMissingRelatedEntities: z.boolean({ error: 'must be true or false' }).optional(),
  enableMergeEntity: z.boolean({ error: 'must be true or false' }).optional(),
  entityDeletionThreshold: ratio.optional(),
  resources: z.array(entrySchema, { error: 'is required: a list of mapping entries' }),
  changelogDestination: z.unknown().optional(),
});

export type RawPortAppConfig = z.output<typeof portAppConfigSchema>;
export type RawEntry = RawPortAppConfig['resources'][number];
export type RawMappings = z.output<typeof mappingsSchema>;

/** `resources[3].port.entity.mappings.properties.foo`, with brackets for keys that are not plain names. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(String(key))) out += out === '' ? String(key) : `.${String(key)}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out === '' ? '(top level)' : out;
}

export interface ConfigProblem {
  path: string;
  message: string;
}

/** Validates the structure; returns the config or every problem, each naming where it is. */
export function parseStructure(value: unknown): { config: RawPortAppConfig; warnings: ConfigProblem[] } | { problems: ConfigProblem[] } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { problems: [{ path: '(top level)', message: `must be an object with a resources list, got ${describe(value)}` }] };
  }
  const result = portAppConfigSchema.safeParse(value);
  const problems: ConfigProblem[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          const known = UNSUPPORTED_KEYS[key];
          problems.push({ path: formatPath([...issue.path, key]), message: known ?? 'is not a key of the port-app-config format (or not one this app supports)' });
        }
      } else {
        const missing = issue.code === 'invalid_type' && /received undefined$/.test(issue.message);
        problems.push({ path: formatPath(issue.path), message: missing ? `is required (${issue.expected === 'array' ? 'a list' : `an ${issue.expected}`})` : issue.message });
      }
    }
  }
  const raw = value as { resources?: unknown };
  // Keys zod let through because selectors are open (integration-specific keys) or optional.
  if (Array.isArray(raw.resources)) {
    raw.resources.forEach((entry, i) => {
      const e = entry as { selector?: Record<string, unknown>; port?: { itemsToParse?: unknown } } | null;
      if (e?.port && typeof e.port === 'object' && e.port.itemsToParse !== undefined) {
        problems.push({ path: formatPath(['resources', i, 'port', 'itemsToParse']), message: UNSUPPORTED_KEYS.itemsToParse! });
      }
      if (e?.selector && typeof e.selector === 'object') {
        for (const key of Object.keys(e.selector)) {
          if (key !== 'query' && key !== 'graphQuery' && !(key in IGNORED_SELECTOR_KEYS)) {
            problems.push({ path: formatPath(['resources', i, 'selector', key]), message: 'is not a selector key this app supports (query, graphQuery)' });
          }
        }
      }
    });
  }
  if ((value as Record<string, unknown>).changelogDestination !== undefined) {
    problems.push({ path: 'changelogDestination', message: UNSUPPORTED_KEYS.changelogDestination! });
  }
  if (problems.length > 0 || !result.success) return { problems };
  const warnings: ConfigProblem[] = [];
  result.data.resources.forEach((entry, i) => {
    for (const key of Object.keys(entry.selector)) {
      const note = IGNORED_SELECTOR_KEYS[key];
      if (note) warnings.push({ path: formatPath(['resources', i, 'selector', key]), message: note });
    }
  });
  return { config: result.data, warnings };
}
