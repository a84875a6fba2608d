/**
 * Every app setting, validated once at start-up with one zod schema.
 *
 * The same names appear in local.settings.sample.json, infra/main.bicep app settings and the README table;
 * test/settings.test.ts and test/infra checks keep the four in step.
 */
import { z } from 'zod';
import { ncrontabProblem } from './ncrontab.js';

/** Settings whose values must never appear in logs or error messages. */
export const SECRET_SETTINGS: ReadonlySet<string> = new Set(['PORT_CLIENT_SECRET', 'AzureWebJobsStorage']);

const DURATION_PATTERN = /^(\d+)\s*(ms|s|m|h|d)$/i;
const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const DURATION_FORMS = 'a duration such as 90s, 15m, 24h or 6d (ms for milliseconds)';

/**
 * Parses `90s`, `15m`, `24h`, `6d` or `50ms` into milliseconds. A bare number is not a duration: `90` could mean
 * seconds or minutes, and guessing wrong would silently change how the app behaves.
 */
export function parseDurationMs(value: string): number | undefined {
  const match = DURATION_PATTERN.exec(value.trim());
  if (!match) return undefined;
  return Number(match[1]) * DURATION_UNIT_MS[match[2]!.toLowerCase()]!;
}

/** `300000` → `5m`: the largest unit that divides the value. */
function formatDurationMs(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = DURATION_UNIT_MS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const duration = (fallback: string, minMs = 0) =>
  z
    .string()
    .default(fallback)
    .transform((raw, ctx) => {
      const ms = parseDurationMs(raw);
      if (ms === undefined) {
        const bare = /^\d+$/.test(raw.trim());
        ctx.addIssue({ code: 'custom', message: bare ? `"${raw.trim()}" has no unit: write ${DURATION_FORMS}` : `expected ${DURATION_FORMS}, got "${raw}"` });
        return z.NEVER;
      }
      if (ms < minMs) {
        ctx.addIssue({ code: 'custom', message: `must be at least ${formatDurationMs(minMs)}, got "${raw}"` });
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

/** AZURE_CREDENTIAL: how the app signs in to Azure (shared/azure/credential.ts). */
export const AZURE_CREDENTIAL_KINDS = ['default', 'azure-cli', 'managed-identity', 'emulator'] as const;
export type AzureCredentialKind = (typeof AZURE_CREDENTIAL_KINDS)[number];

/** Where the run lock lives: the app's own storage account, by connection string or identity. */
export type BlobConnection = { connectionString: string } | { blobServiceUri: string; clientId?: string };

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
  AZURE_CREDENTIAL: z.enum(AZURE_CREDENTIAL_KINDS, { error: `must be one of ${AZURE_CREDENTIAL_KINDS.join(', ')}` }).default('default'),
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
  AzureWebJobsStorage__blobServiceUri: z.string().default(''),
  AzureWebJobsStorage__clientId: z.string().default(''),
  RESOURCE_EVENTS_QUEUE: z
    .string()
    .default('resource-events')
    .refine((v) => /^[a-z0-9](?!.*--)[a-z0-9-]{1,54}[a-z0-9]$/.test(v), {
      message: 'must be a storage queue name (3-56 lower-case letters, digits and single hyphens, leaving room for -poison)',
    }),
  EVENT_FLUSH_WINDOW: duration('50ms'),
  EVENT_SETTLE_TIME: duration('90s', 1_000),
  ARM_READS_PER_SECOND: integer(10, 0, 100),

  // --- Reconciliation
  // The Functions host reads it through the timer's %RECONCILE_SCHEDULE%; checking it here names a bad one at start-up.
  RECONCILE_SCHEDULE: z
    .string()
    .default('0 */15 * * * *')
    .superRefine((v, ctx) => {
      const problem = ncrontabProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  FULL_SYNC_INTERVAL: duration('24h', 60_000),
  MAX_CHANGE_WINDOW: duration('6d', 60_000),
  CHANGE_WINDOW_OVERLAP: duration('30m', 15 * 60_000),
  DELETE_THRESHOLD: ratio(0.9),
  LOST_SUBSCRIPTION_RETENTION: duration('7d', 60 * 60_000),
  RESYNC_MIN_INTERVAL: duration('60s'),

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
    /** AZURE_CREDENTIAL, when not `default`. */
    credential?: Exclude<AzureCredentialKind, 'default'>;
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
    /** Direct ARM reads per second per worker for sparse write events (0: Resource Graph only). */
    armReadsPerSecond: number;
  };
  reconcile: {
    schedule: string;
    fullSyncIntervalMs: number;
    maxChangeWindowMs: number;
    overlapMs: number;
    deleteThreshold: number;
    /** How long the entities of a subscription Resource Graph no longer shows are kept (it may be a lost role). */
    lostSubscriptionRetentionMs: number;
  };
  /** One reconciliation at a time per scope (shared/sync/reconcile/runLock.ts). */
  runLock: {
    /** The blob service holding the lease; absent when no AzureWebJobsStorage form is set (the CLI warns). */
    storage?: BlobConnection;
    /** At most one accepted POST /api/resync per this interval across all instances (a note on the run lock blob). */
    resyncMinIntervalMs: number;
  };
  /** Where the port-app-config comes from: the shipped default, a file, or a Port integration's config. */
  mapping: { source: 'default' } | { source: 'file'; file: string } | { source: 'port'; integrationIdentifier: string };
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** Seed-era names, accepted when the current name is absent; `convert` returns the current form or a problem. */
const ALIASES: Record<string, { current: string; convert: (v: string) => { value: string } | { problem: string } }> = {
  CHANGE_WINDOW_MINUTES: {
    current: 'CHANGE_WINDOW_OVERLAP',
    convert: (v) =>
      /^\d+$/.test(v.trim())
        ? { value: `${v.trim()}m` }
        : { problem: `expected a whole number of minutes (seed-era alias of CHANGE_WINDOW_OVERLAP), got "${v}"` },
  },
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

/**
 * Validates the environment and returns typed settings, or throws SettingsError naming every bad key. Each key is
 * parsed on its own, so one bad value never hides another, and rules across keys are checked on whatever parsed.
 */
export function loadSettings(
  env: Record<string, string | undefined> = process.env,
  options: LoadSettingsOptions = {},
): Settings {
  const raw: Record<string, string | undefined> = {};
  for (const key of Object.keys(settingsSchema.shape)) {
    const v = env[key];
    raw[key] = v === undefined || v.trim() === '' ? undefined : v;
  }
  const problems: { key: string; message: string }[] = [];
  /** Problems with a value that came from an alias are reported under the name the user set. */
  const setBy: Record<string, string> = {};
  const report = (key: string, message: string) =>
    problems.push(setBy[key] ? { key: setBy[key], message: `${message} (as ${key})` } : { key, message: redact(key, message, raw) });
  for (const [alias, { current, convert }] of Object.entries(ALIASES)) {
    const v = env[alias];
    if (raw[current] !== undefined || v === undefined || v.trim() === '') continue;
    const converted = convert(v);
    if ('problem' in converted) problems.push({ key: alias, message: converted.problem });
    else {
      raw[current] = converted.value;
      setBy[current] = alias;
    }
  }

  const parsed: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(settingsSchema.shape) as [string, z.ZodType][]) {
    const result = schema.safeParse(raw[key]);
    if (result.success) parsed[key] = result.data;
    else for (const issue of result.error.issues) report(key, issue.message);
  }
  const s = parsed as Partial<Parsed>;

  // Rules across keys, checked on the raw or parsed values so they are reported together with everything else.
  const storageMissing =
    !raw.AzureWebJobsStorage && !raw.AzureWebJobsStorage__queueServiceUri && !raw.AzureWebJobsStorage__accountName;
  if (storageMissing && options.requireQueueStorage !== false) {
    report(
      'AzureWebJobsStorage',
      'is required: set a connection string (UseDevelopmentStorage=true locally) or AzureWebJobsStorage__accountName / __queueServiceUri for identity-based access',
    );
  }
  if (s.MAX_CHANGE_WINDOW !== undefined && s.MAX_CHANGE_WINDOW > 7 * 86_400_000) {
    report('MAX_CHANGE_WINDOW', 'must be at most 7d: Resource Graph keeps change history for 7 to 14 days');
  }
  {
    const source = s.PORT_APP_CONFIG_SOURCE ?? (s.PORT_APP_CONFIG_FILE ? 'file' : 'default');
    if (source === 'file' && !raw.PORT_APP_CONFIG_FILE) {
      report('PORT_APP_CONFIG_FILE', 'is required when PORT_APP_CONFIG_SOURCE is file (the path of a port-app-config, YAML or JSON)');
    }
    if (source === 'port' && !raw.PORT_INTEGRATION_IDENTIFIER) {
      report('PORT_INTEGRATION_IDENTIFIER', 'is required when PORT_APP_CONFIG_SOURCE is port (the integration whose config holds the mapping)');
    }
  }
  if (s.AZURE_CREDENTIAL === 'emulator' && s.AZURE_ARM_ENDPOINT !== undefined && !isLoopbackUrl(s.AZURE_ARM_ENDPOINT)) {
    report('AZURE_CREDENTIAL', 'emulator works only with a local Resource Graph emulator (AZURE_ARM_ENDPOINT on 127.0.0.1 or localhost)');
  }
  if (s.CHANGE_WINDOW_OVERLAP !== undefined && s.MAX_CHANGE_WINDOW !== undefined && s.CHANGE_WINDOW_OVERLAP >= s.MAX_CHANGE_WINDOW) {
    report('CHANGE_WINDOW_OVERLAP', 'must be shorter than MAX_CHANGE_WINDOW');
  }
  if (problems.length > 0) throw new SettingsError(problems);
  return toSettings(s as Parsed);
}

function isLoopbackUrl(url: string): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
}

/** The same storage account the host uses, reached the same way (connection string, or identity and endpoint). */
function blobConnection(s: Parsed): BlobConnection | undefined {
  if (s.AzureWebJobsStorage) return { connectionString: s.AzureWebJobsStorage };
  const clientId = s.AzureWebJobsStorage__clientId ? { clientId: s.AzureWebJobsStorage__clientId } : {};
  if (s.AzureWebJobsStorage__blobServiceUri) return { blobServiceUri: s.AzureWebJobsStorage__blobServiceUri, ...clientId };
  if (s.AzureWebJobsStorage__accountName) {
    return { blobServiceUri: `https://${s.AzureWebJobsStorage__accountName}.blob.core.windows.net`, ...clientId };
  }
  return undefined;
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
      ...(s.AZURE_CREDENTIAL !== 'default' ? { credential: s.AZURE_CREDENTIAL } : {}),
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
      armReadsPerSecond: s.ARM_READS_PER_SECOND,
    },
    reconcile: {
      schedule: s.RECONCILE_SCHEDULE,
      fullSyncIntervalMs: s.FULL_SYNC_INTERVAL,
      maxChangeWindowMs: s.MAX_CHANGE_WINDOW,
      overlapMs: s.CHANGE_WINDOW_OVERLAP,
      deleteThreshold: s.DELETE_THRESHOLD,
      lostSubscriptionRetentionMs: s.LOST_SUBSCRIPTION_RETENTION,
    },
    runLock: {
      ...(blobConnection(s) ? { storage: blobConnection(s)! } : {}),
      resyncMinIntervalMs: s.RESYNC_MIN_INTERVAL,
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
