/**
 * End-to-end harness for reconciliation: the real Port client and Resource Graph reader over HTTP against both
 * emulators, with the Resource Graph emulator's manual clock as the run's "now".
 */
import { MappingProvider } from '../../shared/mapping/source.js';
import { createResourceGraphReader } from '../../shared/azure/resourceGraph.js';
import type { ArgRow } from '../../shared/azure/types.js';
import { createLogger, memorySink, type Logger } from '../../shared/log.js';
import { mapRow } from '../../shared/mapping/index.js';
import { PortClient } from '../../shared/port/client.js';
import type { PortEntity, StoredEntity } from '../../shared/port/types.js';
import { loadSettings, type Settings } from '../../shared/settings.js';
import type { ReconcileDeps } from '../../shared/sync/reconcile/context.js';
import { runReconciliation, type ReconcileRequest, type RunSummary } from '../../shared/sync/reconcile/runReconciliation.js';
import { stateIdentifierFor } from '../../shared/sync/reconcile/scope.js';
import { portTrafficProblems } from '../contract/portContract.js';
import { startPortEmulator, type PortEmulator, type RecordedExchange } from '../emulators/port/server.js';
import { startResourceGraphEmulator, type ResourceGraphEmulator } from '../emulators/resourceGraph/server.js';

export const T0 = new Date('2026-03-02T08:00:00.000Z');
export const MINUTE = 60_000;

export const SUB_A = '11111111-1111-4111-8111-111111111111';
export const SUB_B = '22222222-2222-4222-8222-222222222222';

export interface Harness {
  port: PortEmulator;
  arg: ResourceGraphEmulator;
  env: Record<string, string>;
  settings: Settings;
  logs: ReturnType<typeof memorySink>;
  logger: Logger;
  deps(overrides?: Partial<ReconcileDeps>): ReconcileDeps;
  run(request?: ReconcileRequest, overrides?: Partial<ReconcileDeps>): Promise<RunSummary>;
  /** The state entity as Port holds it. */
  stateEntity(): StoredEntity | undefined;
  /** Catalog identifiers per blueprint (state excluded). */
  catalog(): { subscription: string[]; resourceGroup: string[]; resource: string[] };
  /** What the catalog must be: the emulator's true estate, mapped. */
  expected(): { subscription: string[]; resourceGroup: string[]; resource: string[] };
  /** Port writes (bulk upserts and deletes) to the three catalog blueprints since the last clearRequests. */
  catalogWrites(): number;
  /**
   * Stops both emulators. Fails if any exchange with the Port emulator (cleared ones included) breaks Port's
   * OpenAPI spec, or if a log record holds the Port client secret or an access token.
   */
  close(): Promise<void>;
}

export async function startHarness(envOverrides: Record<string, string> = {}): Promise<Harness> {
  // Quota pacing is the reader's business (tested there); here it would only make the runs wait.
  const arg = await startResourceGraphEmulator({ startTime: T0, manualClock: true, quota: { limit: 10_000, windowMs: 5_000 } });
  // Port stamps updatedAt on the same clock the runs read as "now".
  const port = await startPortEmulator({ clock: () => arg.now() });
  const env: Record<string, string> = {
    PORT_CLIENT_ID: port.clientId,
    PORT_CLIENT_SECRET: port.clientSecret,
    PORT_API_URL: port.url,
    AZURE_ARM_ENDPOINT: arg.url,
    PORT_RETRY_MAX_ATTEMPTS: '2',
    ...envOverrides,
  };
  const settings = loadSettings(env, { requireQueueStorage: false });
  const logs = memorySink();
  const logger = createLogger(logs, 'debug');
  const portClient = new PortClient({
    ...settings.port,
    logger,
    backoffBaseMs: 5,
    maxWaitMs: 50,
  });
  const graph = createResourceGraphReader(settings.azure, logger, {
    credential: arg.credential,
    retry: { maxRetries: 1, retryDelayInMs: 5, maxRetryDelayInMs: 20 },
  });
  // Tests clear the recording to count one run's writes; keep what they clear for the checks in close().
  const cleared: RecordedExchange[] = [];
  const clearRequests = port.clearRequests;
  port.clearRequests = () => {
    cleared.push(...port.requests);
    clearRequests();
  };
  const ids = settings.port.blueprints;
  const mapping = new MappingProvider({ settings, logger, port: portClient });
  const deps = (overrides: Partial<ReconcileDeps> = {}): ReconcileDeps => ({
    port: portClient,
    graph,
    settings,
    logger,
    now: () => arg.now(),
    // The mapping the app ships (the default port-app-config file, through the jq engine), as in production.
    mapping,
    ...overrides,
  });
  const catalogOf = (list: (bp: string) => string[]) => ({
    subscription: list(ids.subscription).sort(),
    resourceGroup: list(ids.resourceGroup).sort(),
    resource: list(ids.resource).sort(),
  });
  return {
    port,
    arg,
    env,
    settings,
    logs,
    logger,
    deps,
    run: (request = {}, overrides = {}) => runReconciliation(deps(overrides), request),
    stateEntity: () => port.entity(ids.state, stateIdentifierFor(settings.azure)),
    catalog: () => catalogOf((bp) => port.entities(bp).map((e) => e.identifier)),
    expected: () => {
      const estate = arg.estate();
      const out = new Map<string, string[]>();
      for (const row of [...estate.subscriptions, ...estate.resourceGroups, ...estate.resources]) {
        const mapped = mapRow(row, ids);
        if (!mapped) continue;
        out.set(mapped.blueprint, [...(out.get(mapped.blueprint) ?? []), mapped.entity.identifier]);
      }
      return catalogOf((bp) => out.get(bp) ?? []);
    },
    catalogWrites: () =>
      port.requests.filter(
        (r) =>
          (r.kind === 'bulkUpsert' || r.kind === 'delete') &&
          [ids.subscription, ids.resourceGroup, ids.resource].some((bp) => r.decodedPath.startsWith(`/v1/blueprints/${bp}/`)),
      ).length,
    close: async () => {
      portClient.close();
      const exchanges = [...cleared, ...port.requests];
      await Promise.all([port.close(), arg.close()]);
      const problems = portTrafficProblems(exchanges);
      const logged = JSON.stringify(logs.records);
      const secrets = [
        port.clientSecret,
        ...exchanges.filter((r) => r.kind === 'token' && r.status === 200).map((r) => (r.responseBody as { accessToken: string }).accessToken),
      ];
      for (const secret of secrets) if (logged.includes(secret)) problems.push(`a log record holds a secret or token (${secret.slice(0, 8)}…)`);
      if (problems.length > 0) throw new Error(`${problems.length} problem(s):\n${problems.slice(0, 20).join('\n')}`);
    },
  };
}

/** A small estate: two subscriptions, three groups, a handful of resources with tags and mixed id casing. */
export function seedSmallEstate(arg: ResourceGraphEmulator): void {
  const sub = (id: string, name: string): ArgRow => ({
    id: `/subscriptions/${id}`,
    name,
    subscriptionId: id,
    state: 'Enabled',
    tags: { owner: name },
  });
  const rg = (s: string, name: string, segment = 'resourceGroups'): ArgRow => ({
    id: `/subscriptions/${s}/${segment}/${name}`,
    name,
    subscriptionId: s,
    resourceGroup: name.toLowerCase(),
    location: 'westeurope',
    provisioningState: 'Succeeded',
    tags: { env: 'prod' },
  });
  const res = (group: ArgRow, ns: string, type: string, name: string, tags: Record<string, string> = {}): ArgRow => ({
    id: `${group.id}/providers/${ns}/${type}/${name}`,
    name,
    subscriptionId: group.subscriptionId,
    resourceGroup: group.resourceGroup,
    location: 'westeurope',
    provisioningState: 'Succeeded',
    tags,
  });
  const rgA1 = rg(SUB_A, 'RG-App');
  const rgA2 = rg(SUB_A, 'rg-data', 'resourcegroups');
  const rgB1 = rg(SUB_B, 'rg-shared');
  const resources: ArgRow[] = [
    res(rgA1, 'Microsoft.Storage', 'storageAccounts', 'stapp1', { team: 'a', cost: '1' }),
    res(rgA1, 'Microsoft.Compute', 'virtualMachines', 'VM-App-1'),
    res(rgA1, 'Microsoft.Network', 'virtualNetworks', 'vnet-app'),
    res(rgA2, 'Microsoft.Sql', 'servers', 'sql-data'),
    res(rgA2, 'Microsoft.Storage', 'storageAccounts', 'stdata1'),
    res(rgB1, 'Microsoft.KeyVault', 'vaults', 'kv-shared'),
    res(rgB1, 'Microsoft.Storage', 'storageAccounts', 'stshared'),
    res(rgB1, 'Microsoft.Web', 'sites', 'app-shared'),
  ];
  arg.seed({
    subscriptions: [sub(SUB_A, 'team-a'), sub(SUB_B, 'team-b')],
    resourceGroups: [rgA1, rgA2, rgB1],
    resources: resources.map((r) => ({ ...r, type: typeOf(String(r.id)) })),
  });
}

export function typeOf(id: string): string {
  const segs = id.split('/');
  const p = segs.map((s) => s.toLowerCase()).lastIndexOf('providers');
  return `${segs[p + 1]}/${segs[p + 2]}`.toLowerCase();
}

export function resourceId(sub: string, rg: string, ns: string, type: string, name: string): string {
  return `/subscriptions/${sub}/resourceGroups/${rg}/providers/${ns}/${type}/${name}`;
}

export type { PortEntity };
