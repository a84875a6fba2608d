/**
 * Port's integration routes, for mappings kept in Port (port-openapi.yaml `/v1/integration/{identifier}` and
 * `…/config`): GET an integration, PATCH it, PATCH its config. The spec documents only error bodies for these; the
 * success shape `{ok: true, integration}` is what Port's Ocean framework reads (`response.json()["integration"]`).
 * `POST /v1/integration` (creation) is not in the spec either; Ocean creates its integrations with it
 * ({installationId, installationAppType, changelogDestination, config}), so the emulator accepts the same.
 */

export interface StoredIntegration {
  identifier: string;
  installationId: string;
  installationAppType?: string;
  version?: string;
  title?: string | null;
  config: Record<string, unknown> | null;
  createdAt: string;
  updatedAt: string;
  createdBy: string;
  updatedBy: string;
}

export class IntegrationRouteError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const invalid = (message: string) => new IntegrationRouteError(422, 'invalid_request', message);

/** The spec's `config` schema: an object (or null) whose resources[] each have kind, selector and port.entity.mappings. */
function checkConfig(config: unknown, at: string): Record<string, unknown> | null {
  if (config === null) return null;
  if (!isObject(config)) throw invalid(`${at} must be object,null`);
  for (const key of ['deleteDependentEntities', 'createMissingRelatedEntities']) {
    if (config[key] !== undefined && typeof config[key] !== 'boolean') throw invalid(`${at}/${key} must be boolean`);
  }
  const resources = config.resources;
  if (resources === undefined) return config;
  if (!Array.isArray(resources)) throw invalid(`${at}/resources must be array`);
  resources.forEach((r, i) => {
    const p = `${at}/resources/${i}`;
    if (!isObject(r)) throw invalid(`${p} must be object`);
    for (const key of ['kind', 'selector', 'port']) if (r[key] === undefined) throw invalid(`${p} must have required property '${key}'`);
    if (typeof r.kind !== 'string') throw invalid(`${p}/kind must be string`);
    if (!isObject(r.selector)) throw invalid(`${p}/selector must be object`);
    if (r.selector.query !== undefined && typeof r.selector.query !== 'string') throw invalid(`${p}/selector/query must be string`);
    if (!isObject(r.port) || !isObject(r.port.entity)) throw invalid(`${p}/port must have required property 'entity'`);
    const mappings = r.port.entity.mappings;
    if (mappings === undefined) throw invalid(`${p}/port/entity must have required property 'mappings'`);
    for (const m of Array.isArray(mappings) ? mappings : [mappings]) {
      if (!isObject(m)) throw invalid(`${p}/port/entity/mappings must be object or array`);
      for (const key of ['identifier', 'blueprint']) if (m[key] === undefined) throw invalid(`${p}/port/entity/mappings must have required property '${key}'`);
    }
  });
  return config;
}

const CREATE_KEYS = new Set(['installationId', 'installationAppType', 'version', 'title', 'config', 'changelogDestination', 'actionsProcessingEnabled']);

export class IntegrationStore {
  private readonly integrations = new Map<string, StoredIntegration>();

  get(identifier: string): StoredIntegration | undefined {
    return this.integrations.get(identifier);
  }

  private require(identifier: string): StoredIntegration {
    const found = this.integrations.get(identifier);
    if (!found) throw new IntegrationRouteError(404, 'not_found', `Integration with identifier "${identifier}" was not found`);
    return found;
  }

  /** Creates (or replaces, for test seeding) an integration without going through the API. */
  seed(identifier: string, config: Record<string, unknown> | null, extra: Partial<StoredIntegration> = {}): StoredIntegration {
    const now = new Date().toISOString();
    const stored: StoredIntegration = { identifier, installationId: identifier, config, createdAt: now, updatedAt: now, createdBy: 'seed', updatedBy: 'seed', ...extra };
    this.integrations.set(identifier, stored);
    return stored;
  }

  /** Handles `/v1/integration…`; `segments` are the decoded path segments after `integration`. */
  handle(method: string, segments: string[], body: unknown, actor: string): { status: number; payload: unknown } | undefined {
    const [identifier, sub, ...rest] = segments;
    if (rest.length > 0) return undefined;
    if (identifier === undefined && method === 'POST') return { status: 200, payload: { ok: true, integration: this.create(body, actor) } };
    if (identifier === undefined || identifier === '') return undefined;
    if (sub === undefined && method === 'GET') return { status: 200, payload: { ok: true, integration: this.require(identifier) } };
    if (sub === undefined && method === 'PATCH') return { status: 200, payload: { ok: true, integration: this.patch(identifier, body, actor) } };
    if (sub === 'config' && method === 'PATCH') {
      if (!isObject(body)) throw invalid('body must be object');
      const extra = Object.keys(body).filter((k) => k !== 'config');
      if (extra.length > 0) throw invalid(`body must NOT have additional properties (${extra.join(', ')})`);
      if (!('config' in body)) throw invalid("body must have required property 'config'");
      const integration = this.require(identifier);
      integration.config = checkConfig(body.config, 'body/config');
      integration.updatedAt = new Date().toISOString();
      integration.updatedBy = actor;
      return { status: 200, payload: { ok: true, integration } };
    }
    return undefined;
  }

  private create(body: unknown, actor: string): StoredIntegration {
    if (!isObject(body)) throw invalid('body must be object');
    const extra = Object.keys(body).filter((k) => !CREATE_KEYS.has(k));
    if (extra.length > 0) throw invalid(`body must NOT have additional properties (${extra.join(', ')})`);
    const id = body.installationId;
    if (typeof id !== 'string' || !/^[A-Za-z0-9@_.+:\\/=-]{1,100}$/.test(id)) throw invalid('body/installationId must be a valid identifier');
    if (this.integrations.has(id)) throw new IntegrationRouteError(409, 'integration_already_exists', `Integration with identifier "${id}" already exists`);
    const config = body.config === undefined ? {} : checkConfig(body.config, 'body/config');
    const stored = this.seed(id, config, {
      ...(typeof body.installationAppType === 'string' ? { installationAppType: body.installationAppType } : {}),
      ...(typeof body.version === 'string' ? { version: body.version } : {}),
      ...(typeof body.title === 'string' ? { title: body.title } : {}),
      createdBy: actor,
      updatedBy: actor,
    });
    return stored;
  }

  private patch(identifier: string, body: unknown, actor: string): StoredIntegration {
    const integration = this.require(identifier);
    const input = body === undefined ? {} : body;
    // The spec allows additional properties on this body.
    if (!isObject(input)) throw invalid('body must be object');
    if (input.config !== undefined) integration.config = checkConfig(input.config, 'body/config');
    if (typeof input.title === 'string' || input.title === null) integration.title = input.title;
    if (typeof input.version === 'string') integration.version = input.version;
    if (typeof input.installationAppType === 'string') integration.installationAppType = input.installationAppType;
    integration.updatedAt = new Date().toISOString();
    integration.updatedBy = actor;
    return integration;
  }
}
