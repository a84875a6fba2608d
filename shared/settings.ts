/**
 * Every app setting, validated once at start-up with one zod schema.
 *
 * The same names appear in local.settings.sample.json, infra/main.bicep app settings and the README table;
 * test/settings.test.ts and test/infra checks keep the four in step.
 */
import { z } from 'zod';

/** Settings whose values must never appear in logs or error messages. */
export const SECRET_SETTINGS: ReadonlySet<string> = new Set(['PORT_CLIENT_SECRET', 'AzureWebJobsStorage']);

const DURATION_PATTERN = /^(\d+)\s*(ms|s|m|h|d)$/i;
const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `90s`, `15m`, `24h`, `6d` (or a bare number of seconds) into milliseconds. */
export function parseDurationMs(value: string): number | undefined {
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1_000;
  const match = DURATION_PATTERN.exec(trimmed);
  if (!match) return undefined;
  return Number(match[1]) * DURATION_UNIT_MS[match[2]!.toLowerCase()]!;
}

const duration = (fallback: string, minMs = 0) =>
  z
    .string()
    .default(fallback)
    .transform((raw, ctx) => {
      const ms = parseDurationMs(raw);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected a duration such as 90s, 15m, 24h or 6d, got "${raw}"` });
        return z.NEVER;
      }
      if (ms < minMs) {
        ctx.addIssue({ code: 'custom', message: `must be at least ${minMs / 1000}s, got "${raw}"` });
        return z.NEVER;
      }
      return ms;
    });

const integer = (fallback: number, min: number, max: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((raw, ctx) => {
      const n = Number(raw.trim());
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected a whole number from ${min} to ${max}, got "${raw}"` });
        return z.NEVER;
      }
      return n;
    });

const ratio = (fallback: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((raw, ctx) => {
      const n = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
        ctx.addIssue({ code: 'custom', message: `expected a number from 0 to 1, got "${raw}"` });
        return z.NEVER;
      }
      return n;
    });

const bool = (fallback: boolean) =>
  z
    .string()
    .default(String(fallback))
    .transform((raw, ctx) => {
      const v = raw.trim().toLowerCase();
      if (['true', '1', 'yes'].includes(v)) return true;
      if (['false', '0', 'no'].includes(v)) return false;
      ctx.addIssue({ code: 'custom', message: `expected true or false, got "${raw}"` });
      return z.NEVER;
    });

const csv = z
  .string()
  .default('')
  .transform((raw) =>
    raw
      .split(/[,;\s]+/)
      .map((s) => s.trim())
      .filter(Boolean),
  );

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const subscriptionIds = csv.superRefine((ids, ctx) => {
  for (const id of ids) {
    if (!GUID.test(id)) ctx.addIssue({ code: 'custom', message: `"${id}" is not a subscription id (a GUID)` });
  }
});

/** https everywhere, except loopback (the emulators and Azurite). */
const serviceUrl = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((raw, ctx) => {
      let url: URL;
      try {
        url = new URL(raw.trim());
      } catch {
        ctx.addIssue({ code: 'custom', message: `expected an absolute URL, got "${raw}"` });
        return z.NEVER;
      }
      const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
      if (url.protocol !== 'https:' && !(loopback && url.protocol === 'http:')) {
        ctx.addIssue({ code: 'custom', message: `must use https (http is allowed only for localhost), got "${raw}"` });
        return z.NEVER;
      }
      return url.toString().replace(/\/+$/, '');
    });

const blueprintId = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((v) => /^(?!\.{1,2}$)[\p{L}0-9@_.+:\\/-]{1,100}$/u.test(v), {
      message: 'must be a Port blueprint identifier (letters, digits, @_.+:\\/-, at most 100 characters)',
    });

const resourceTypeList = csv.superRefine((types, ctx) => {
  for (const t of types) {
    if (!/^[A-Za-z0-9.]+\/[A-Za-z0-9./-]+$/.test(t)) {
      ctx.addIssue({ code: 'custom', message: `"${t}" is not a resource type such as Microsoft.Compute/virtualMachines` });
    }
  }
});

const nonEmpty = (what: string) => z.string({ error: `is required (${what})` }).trim().min(1, `is required (${what})`);

/** The raw environment shape: every key the app reads. */
export const settingsSchema = z.object({
  // --- Port
  PORT_CLIENT_ID: nonEmpty('the Port API client id'),
  PORT_CLIENT_SECRET: nonEmpty('the Port API client secret').refine((v) => !v.startsWith('@Microsoft.KeyVault('), {
    message: 'is an unresolved Key Vault reference: the app identity cannot read the secret (check Key Vault Secrets User)',
  }),
  PORT_API_URL: serviceUrl('https://api.port.io'),
  PORT_BLUEPRINT_SUBSCRIPTION: blueprintId('azureSubscription'),
  PORT_BLUEPRINT_RESOURCE_GROUP: blueprintId('azureResourceGroup'),
  PORT_BLUEPRINT_RESOURCE: blueprintId('azureCloudResources'),
  PORT_BLUEPRINT_STATE: blueprintId('azureWorkflowState'),
  PORT_CREATE_MISSING_RELATED_ENTITIES: bool(true),
  PORT_MAX_CONCURRENCY: integer(8, 1, 100),
  PORT_REQUEST_TIMEOUT: duration('30s', 1_000),
  PORT_RETRY_MAX_ATTEMPTS: integer(8, 1, 20),

  // --- Azure read side
  AZURE_ARM_ENDPOINT: serviceUrl('https://management.azure.com'),
  AZURE_CLIENT_ID: z
    .string()
    .default('')
    .refine((v) => v === '' || GUID.test(v), { message: 'must be the client id (a GUID) of a user-assigned managed identity' }),
  AZURE_SUBSCRIPTION_IDS: subscriptionIds,
  AZURE_MANAGEMENT_GROUP_IDS: csv,
  SUBSCRIPTION_BATCH_SIZE: integer(200, 1, 1000),
  ARG_MAX_CONCURRENCY: integer(3, 1, 15),
  INCLUDE_RESOURCE_TYPES: resourceTypeList,
  EXCLUDE_RESOURCE_TYPES: resourceTypeList,

  // --- Real-time path
  AzureWebJobsStorage: z.string().default(''),
  AzureWebJobsStorage__queueServiceUri: z.string().default(''),
  AzureWebJobsStorage__accountName: z.string().default(''),
  AzureWebJobsStorage__clientId: z.string().default(''),
  RESOURCE_EVENTS_QUEUE: z
    .string()
    .default('resource-events')
    .refine((v) => /^[a-z0-9](?!.*--)[a-z0-9-]{1,54}[a-z0-9]$/.test(v), {
      message: 'must be a storage queue name (3-56 lower-case letters, digits and single hyphens, leaving room for -poison)',
    }),
  EVENT_FLUSH_WINDOW: duration('50ms'),
  EVENT_SETTLE_TIME: duration('90s', 1_000),

  // --- Reconciliation
  RECONCILE_SCHEDULE: z.string().default('0 */15 * * * *'),
  FULL_SYNC_INTERVAL: duration('24h', 60_000),
  MAX_CHANGE_WINDOW: duration('6d', 60_000),
  CHANGE_WINDOW_OVERLAP: duration('10m', 5 * 60_000),
  DELETE_THRESHOLD: ratio(0.9),

  // --- Mapping (port-app-config, shared/mapping)
  PORT_APP_CONFIG_SOURCE: z
    .enum(['default', 'file', 'port'], { error: 'must be default, file or port' })
    .optional(),
  PORT_APP_CONFIG_FILE: z.string().default(''),
  PORT_INTEGRATION_IDENTIFIER: z
    .string()
    .default('')
    .refine((v) => v === '' || /^[A-Za-z0-9@_.+:\\/=-]{1,100}$/.test(v), { message: 'must be a Port integration identifier (letters, digits and @_.+:\\/=-)' }),

  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

type Parsed = z.output<typeof settingsSchema>;

export interface Settings {
  port: {
    clientId: string;
    clientSecret: string;
    apiUrl: string;
    blueprints: { subscription: string; resourceGroup: string; resource: string; state: string };
    createMissingRelatedEntities: boolean;
    maxConcurrency: number;
    requestTimeoutMs: number;
    retryMaxAttempts: number;
  };
  azure: {
    armEndpoint: string;
    managedIdentityClientId?: string;
    /** Empty: every subscription the identity can read (unless management groups are given). */
    subscriptionIds: string[];
    managementGroupIds: string[];
    subscriptionBatchSize: number;
    argMaxConcurrency: number;
    includeResourceTypes: string[];
    excludeResourceTypes: string[];
  };
  events: {
    queueName: string;
    poisonQueueName: string;
    /** Connection for moving messages to the poison queue: a connection string or an identity-based queue URL. */
    storage: { connectionString: string } | { queueServiceUri: string; clientId?: string };
    flushWindowMs: number;
    settleTimeMs: number;
  };
  reconcile: {
    schedule: string;
    fullSyncIntervalMs: number;
    maxChangeWindowMs: number;
    overlapMs: number;
    deleteThreshold: number;
  };
  /** Where the port-app-config comes from: the shipped default, a file, or a Port integration's config. */
  mapping: { source: 'default' } | { source: 'file'; file: string } | { source: 'port'; integrationIdentifier: string };
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** Seed-era names, accepted when the current name is absent. */
const ALIASES: Record<string, { current: string; convert: (v: string) => string }> = {
  CHANGE_WINDOW_MINUTES: { current: 'CHANGE_WINDOW_OVERLAP', convert: (v) => `${v.trim()}m` },
};

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
  constructor(readonly problems: { key: string; message: string }[]) {
    super(
      `Invalid app settings (${problems.length}):\n` + problems.map((p) => `  - ${p.key}: ${p.message}`).join('\n'),
    );
  }
}

function redact(key: string, message: string, raw: Record<string, string | undefined>): string {
  if (!SECRET_SETTINGS.has(key)) return message;
  const value = raw[key];
  return value ? message.split(value).join('<redacted>') : message;
}

export interface LoadSettingsOptions {
  /** False for tools that never touch the queue (the CLI's reconcile/status): AzureWebJobsStorage becomes optional. */
  requireQueueStorage?: boolean;
}

/** Validates the environment and returns typed settings, or throws SettingsError naming every bad key. */
export function loadSettings(
  env: Record<string, string | undefined> = process.env,
  options: LoadSettingsOptions = {},
): Settings {
  const raw: Record<string, string | undefined> = {};
  for (const key of Object.keys(settingsSchema.shape)) {
    const v = env[key];
    raw[key] = v === undefined || v.trim() === '' ? undefined : v;
  }
  for (const [alias, { current, convert }] of Object.entries(ALIASES)) {
    const v = env[alias];
    if (raw[current] === undefined && v !== undefined && v.trim() !== '') raw[current] = convert(v);
  }
  const result = settingsSchema.safeParse(raw);
  const problems: { key: string; message: string }[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = String(issue.path[0] ?? '(settings)');
      problems.push({ key, message: redact(key, issue.message, raw) });
    }
  }
  // Checked on the raw values so it is reported together with schema problems, not after they are fixed.
  const storageMissing =
    !raw.AzureWebJobsStorage && !raw.AzureWebJobsStorage__queueServiceUri && !raw.AzureWebJobsStorage__accountName;
  if (storageMissing && options.requireQueueStorage !== false) {
    problems.push({
      key: 'AzureWebJobsStorage',
      message:
        'is required: set a connection string (UseDevelopmentStorage=true locally) or AzureWebJobsStorage__accountName / __queueServiceUri for identity-based access',
    });
  }
  if (result.success) {
    const s = result.data;
    const overlap = s.CHANGE_WINDOW_OVERLAP;
    if (overlap >= s.MAX_CHANGE_WINDOW) {
      problems.push({ key: 'CHANGE_WINDOW_OVERLAP', message: 'must be shorter than MAX_CHANGE_WINDOW' });
    }
    const source = s.PORT_APP_CONFIG_SOURCE ?? (s.PORT_APP_CONFIG_FILE ? 'file' : 'default');
    if (source === 'file' && !s.PORT_APP_CONFIG_FILE) {
      problems.push({ key: 'PORT_APP_CONFIG_FILE', message: 'is required when PORT_APP_CONFIG_SOURCE is file (the path of a port-app-config, YAML or JSON)' });
    }
    if (source === 'port' && !s.PORT_INTEGRATION_IDENTIFIER) {
      problems.push({ key: 'PORT_INTEGRATION_IDENTIFIER', message: 'is required when PORT_APP_CONFIG_SOURCE is port (the integration whose config holds the mapping)' });
    }
    if (s.MAX_CHANGE_WINDOW > 7 * 86_400_000) {
      problems.push({
        key: 'MAX_CHANGE_WINDOW',
        message: 'must be at most 7d: Resource Graph keeps change history for 7 to 14 days',
      });
    }
  }
  if (problems.length > 0 || !result.success) throw new SettingsError(problems);
  return toSettings(result.data);
}

function mappingSource(s: Parsed): Settings['mapping'] {
  const source = s.PORT_APP_CONFIG_SOURCE ?? (s.PORT_APP_CONFIG_FILE ? 'file' : 'default');
  if (source === 'file') return { source, file: s.PORT_APP_CONFIG_FILE };
  if (source === 'port') return { source, integrationIdentifier: s.PORT_INTEGRATION_IDENTIFIER };
  return { source: 'default' };
}

function toSettings(s: Parsed): Settings {
  const storage = s.AzureWebJobsStorage
    ? { connectionString: s.AzureWebJobsStorage }
    : {
        queueServiceUri:
          s.AzureWebJobsStorage__queueServiceUri || `https://${s.AzureWebJobsStorage__accountName}.queue.core.windows.net`,
        ...(s.AzureWebJobsStorage__clientId ? { clientId: s.AzureWebJobsStorage__clientId } : {}),
      };
  return {
    port: {
      clientId: s.PORT_CLIENT_ID,
      clientSecret: s.PORT_CLIENT_SECRET,
      apiUrl: s.PORT_API_URL,
      blueprints: {
        subscription: s.PORT_BLUEPRINT_SUBSCRIPTION,
        resourceGroup: s.PORT_BLUEPRINT_RESOURCE_GROUP,
        resource: s.PORT_BLUEPRINT_RESOURCE,
        state: s.PORT_BLUEPRINT_STATE,
      },
      createMissingRelatedEntities: s.PORT_CREATE_MISSING_RELATED_ENTITIES,
      maxConcurrency: s.PORT_MAX_CONCURRENCY,
      requestTimeoutMs: s.PORT_REQUEST_TIMEOUT,
      retryMaxAttempts: s.PORT_RETRY_MAX_ATTEMPTS,
    },
    azure: {
      armEndpoint: s.AZURE_ARM_ENDPOINT,
      ...(s.AZURE_CLIENT_ID ? { managedIdentityClientId: s.AZURE_CLIENT_ID } : {}),
      subscriptionIds: s.AZURE_SUBSCRIPTION_IDS.map((id) => id.toLowerCase()),
      managementGroupIds: s.AZURE_MANAGEMENT_GROUP_IDS,
      subscriptionBatchSize: s.SUBSCRIPTION_BATCH_SIZE,
      argMaxConcurrency: s.ARG_MAX_CONCURRENCY,
      includeResourceTypes: s.INCLUDE_RESOURCE_TYPES.map((t) => t.toLowerCase()),
      excludeResourceTypes: s.EXCLUDE_RESOURCE_TYPES.map((t) => t.toLowerCase()),
    },
    events: {
      queueName: s.RESOURCE_EVENTS_QUEUE,
      poisonQueueName: `${s.RESOURCE_EVENTS_QUEUE}-poison`,
      storage,
      flushWindowMs: s.EVENT_FLUSH_WINDOW,
      settleTimeMs: s.EVENT_SETTLE_TIME,
    },
    reconcile: {
      schedule: s.RECONCILE_SCHEDULE,
      fullSyncIntervalMs: s.FULL_SYNC_INTERVAL,
      maxChangeWindowMs: s.MAX_CHANGE_WINDOW,
      overlapMs: s.CHANGE_WINDOW_OVERLAP,
      deleteThreshold: s.DELETE_THRESHOLD,
    },
    mapping: mappingSource(s),
    logLevel: s.LOG_LEVEL,
  };
}

/** Every setting name the code reads (the schema keys plus accepted seed-era aliases). */
export const SETTING_NAMES: readonly string[] = Object.keys(settingsSchema.shape);
export const SETTING_ALIASES: readonly string[] = Object.keys(ALIASES);

/** Settings without which the app cannot start. */
export const REQUIRED_SETTINGS: readonly string[] = ['PORT_CLIENT_ID', 'PORT_CLIENT_SECRET', 'AzureWebJobsStorage'];
