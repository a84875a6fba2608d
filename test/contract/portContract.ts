/**
 * Checks HTTP exchanges against Port's published OpenAPI 3.1 spec (../shared/reference/port-openapi.yaml):
 * request bodies, query and path parameters, and response bodies per status. Where the spec is silent or known
 * to be incomplete (port-api.md §4.2, §3.3, §7, §10) the documented shape is used instead, and each such
 * allowance is listed in DOCUMENTED_DEVIATIONS so it is visible, not hidden in the validator.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import YAML from 'yaml';

// ajv-formats is CommonJS with a default export; under NodeNext the callable sits on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

export interface Exchange {
  method: string;
  /** Path as sent (percent-encoded identifiers); a decoded path works too when no identifier holds "/". */
  path: string;
  query?: Record<string, string | string[]>;
  body?: unknown;
  /** 0 (or absent) when there was no response, e.g. a dropped connection. */
  status?: number;
  responseBody?: unknown;
  /** Lower-case names; when given, Port's documented response headers are checked too. */
  responseHeaders?: Record<string, string>;
  /** Set by the emulator on injected faults (which may express a 429's wait as delta seconds on purpose). */
  fault?: string;
}

type Schema = Record<string, unknown>;
interface Parameter {
  name: string;
  in: 'query' | 'path' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, unknown>;
}

const ENTITY_META_FIELDS = ['blueprint', 'createdAt', 'updatedAt', 'createdBy', 'updatedBy'] as const;

const ERROR_BODY: Schema = {
  type: 'object',
  properties: { ok: { const: false }, error: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } },
  required: ['ok', 'error'],
  additionalProperties: false,
};

/** What we accept beyond the spec text, and why. */
export const DOCUMENTED_DEVIATIONS = [
  'Entity objects in responses may also carry blueprint, createdAt, updatedAt, createdBy, updatedBy (port-api.md §4.2, §10: real clients read them).',
  'Responses with a status the spec does not list for the route (e.g. 409 on a plain create, 429, 408, 5xx) must have the standard error body {ok:false, error, message?} (port-api.md §7).',
  'DELETE /v1/blueprints/{id}/all-entities may return {ok, migrationId}, and GET /v1/migrations/{id} returns 200 {ok, migration} (port-api.md §3.3).',
  'POST /v1/blueprints/{bp}/entities may omit upsert (the spec marks it required): "A basic create request is noted by providing no query parameters", and answers 409 when the identifier exists (port-docs docs/build-your-software-catalog/custom-integration/api/api.md; port-api.md §4.3).',
  'GET /v1/integration/{identifier} and PATCH /v1/integration/{identifier}[/config] return 200 {ok, integration} (the spec lists only errors; Port\'s Ocean framework reads response.json()["integration"]).',
];

/** Query parameters the spec marks required that Port's docs show as optional, per operation (the 409 deviation above). */
const OPTIONAL_BY_DOCS: Record<string, readonly string[]> = {
  'post /v1/blueprints/{blueprint_identifier}/entities': ['upsert'],
};

const INTEGRATION_OK: Record<string, Schema> = {
  '200': {
    type: 'object',
    properties: { ok: { const: true }, integration: { type: 'object', required: ['identifier'], properties: { identifier: { type: 'string' }, config: { type: ['object', 'null'] } } } },
    required: ['ok', 'integration'],
  },
};

const UNDOCUMENTED_SUCCESS: Record<string, Record<string, Schema>> = {
  'get /v1/integration/{identifier}': INTEGRATION_OK,
  'patch /v1/integration/{identifier}': INTEGRATION_OK,
  'patch /v1/integration/{identifier}/config': INTEGRATION_OK,
  'get /v1/migrations/{migration_id}': {
    '200': {
      type: 'object',
      properties: { ok: { const: true }, migration: { type: 'object', required: ['id', 'status'] } },
      required: ['ok', 'migration'],
    },
  },
};

export function defaultSpecPath(): string {
  const candidates = [
    process.env.PORT_OPENAPI_SPEC,
    fileURLToPath(new URL('../../../shared/reference/port-openapi.yaml', import.meta.url)),
    path.resolve(process.cwd(), '../shared/reference/port-openapi.yaml'),
  ].filter((p): p is string => Boolean(p));
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`Port OpenAPI spec not found; looked in: ${candidates.join(', ')}`);
  return found;
}

/**
 * Loads the spec with the `yaml` package. Bare `=` scalars (operator enums) can resolve to YAML 1.1's `value`
 * type in some loaders; we load with the 1.2 core schema, which keeps them as the string "=".
 */
export function loadPortSpec(file: string = defaultSpecPath()): OpenApiDocument {
  const doc = YAML.parse(fs.readFileSync(file, 'utf8'), { version: '1.2', schema: 'core' }) as OpenApiDocument;
  if (!doc || typeof doc !== 'object' || !doc.paths || !String(doc.openapi).startsWith('3.1')) {
    throw new Error(`${file} is not an OpenAPI 3.1 document`);
  }
  return doc;
}

/** Every `operator` enum in the spec, to prove the loader kept `=` as a string. */
export function operatorEnums(spec: OpenApiDocument): unknown[][] {
  const found: unknown[][] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    const op = obj.operator as { enum?: unknown } | undefined;
    if (op && typeof op === 'object' && Array.isArray(op.enum)) found.push(op.enum);
    Object.values(obj).forEach(walk);
  };
  walk(spec);
  return found;
}

/** The spec repeats items in some `required` lists (e.g. "ok" twice), which ajv's meta-schema rejects. */
function dedupeRequired(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(dedupeRequired);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    out[k] = k === 'required' && Array.isArray(v) ? [...new Set(v)] : dedupeRequired(v);
  }
  return out;
}

/** Lets entity response objects carry the meta fields real Port returns (first deviation above). */
function allowEntityMeta(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(allowEntityMeta);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = allowEntityMeta(v);
  const props = out.properties as Record<string, unknown> | undefined;
  if (props && typeof props === 'object' && 'identifier' in props && 'properties' in props && 'relations' in props) {
    const extra = Object.fromEntries(ENTITY_META_FIELDS.filter((f) => !(f in props)).map((f) => [f, { type: 'string' }]));
    out.properties = { ...props, ...extra };
  }
  return out;
}

export interface ValidateOptions {
  /**
   * Skip the request side (body and parameters). For suites that send malformed requests on purpose to test
   * the emulator's rejections; the route and the response must still match the spec.
   */
  responseOnly?: boolean;
}

interface Route {
  template: string;
  segments: string[];
  literals: number;
}

export interface PortContract {
  /** Problems with one exchange; empty when it matches the spec. `/_emulator/*` control calls are skipped. */
  validateExchange(exchange: Exchange, options?: ValidateOptions): string[];
  /** Problems across many exchanges, each prefixed with the request it came from. */
  validateAll(exchanges: Iterable<Exchange>, options?: ValidateOptions): string[];
  /** The spec template a path matches, if any. */
  matchRoute(method: string, path: string): { template: string; params: Record<string, string> } | undefined;
}

export function createPortContract(spec: OpenApiDocument = loadPortSpec()): PortContract {
  const ajv = new Ajv2020({ strict: false, allErrors: true, logger: false, validateFormats: true });
  addFormats(ajv);
  const compiled = new Map<string, ValidateFunction>();
  const compile = (cacheKey: string, schema: Schema): ValidateFunction => {
    let fn = compiled.get(cacheKey);
    if (!fn) {
      // Spec refs point at #/components/…, so each compiled schema carries the components next to it.
      fn = ajv.compile(dedupeRequired({ ...schema, components: spec.components }) as Schema);
      compiled.set(cacheKey, fn);
    }
    return fn;
  };

  const routes: Route[] = Object.keys(spec.paths)
    .map((template) => {
      const segments = template.split('/');
      return { template, segments, literals: segments.filter((s) => !s.startsWith('{')).length };
    })
    // Literal segments win: /entities/search before /entities/{entity_identifier}.
    .sort((a, b) => b.literals - a.literals);

  function matchRoute(method: string, rawPath: string) {
    const parts = rawPath.split('/');
    const m = method.toLowerCase();
    for (const route of routes) {
      if (route.segments.length !== parts.length || !spec.paths[route.template]?.[m]) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const seg = route.segments[i]!;
        const part = parts[i]!;
        if (seg.startsWith('{')) {
          if (part === '') ok = false;
          else params[seg.slice(1, -1)] = safeDecode(part);
        } else if (seg !== part) ok = false;
      }
      if (ok) return { template: route.template, params };
    }
    return undefined;
  }

  function schemaErrors(fn: ValidateFunction, value: unknown, where: string): string[] {
    if (fn(value)) return [];
    return (fn.errors ?? []).slice(0, 5).map((e) => {
      const detail = e.keyword !== 'pattern' && e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : '';
      return `${where}${e.instancePath || ''} ${e.message ?? 'is invalid'}${detail}`;
    });
  }

  function validateExchange(ex: Exchange, options: ValidateOptions = {}): string[] {
    const pathOnly = ex.path.split('?')[0]!;
    if (pathOnly === '/_emulator' || pathOnly.startsWith('/_emulator/')) return [];
    const route = matchRoute(ex.method, pathOnly);
    if (!route) return [`route ${ex.method.toUpperCase()} ${pathOnly} is not in Port's OpenAPI spec`];
    const method = ex.method.toLowerCase();
    const op = spec.paths[route.template]![method]!;
    const opKey = `${method} ${route.template}`;
    const opName = `${method.toUpperCase()} ${route.template}`;
    const problems: string[] = [];
    if (!options.responseOnly) problems.push(...requestProblems(op, opKey, opName, route.params, ex));
    return [...problems, ...responseProblems(op, opKey, opName, ex), ...headerProblems(ex)];
  }

  function requestProblems(op: Operation, opKey: string, opName: string, pathParams: Record<string, string>, ex: Exchange): string[] {
    const problems: string[] = [];
    for (const param of op.parameters ?? []) {
      if (param.in === 'path') {
        const value = pathParams[param.name];
        if (value === undefined) continue;
        if (param.schema) problems.push(...schemaErrors(compile(`${opKey} path ${param.name}`, param.schema), value, `path parameter ${param.name}`));
      }
    }
    const queryParams = new Map((op.parameters ?? []).filter((p) => p.in === 'query').map((p) => [p.name, p]));
    for (const [name, raw] of Object.entries(ex.query ?? {})) {
      const param = queryParams.get(name);
      if (!param) {
        problems.push(`query parameter "${name}" is not defined for ${opName}`);
        continue;
      }
      const value = coerceQuery(raw, param.schema);
      if (param.schema) problems.push(...schemaErrors(compile(`${opKey} query ${name}`, param.schema), value, `query parameter ${name}`));
    }
    for (const param of queryParams.values()) {
      if (param.required && !OPTIONAL_BY_DOCS[opKey]?.includes(param.name) && !(param.name in (ex.query ?? {}))) problems.push(`required query parameter "${param.name}" is missing`);
    }

    const bodySchema = op.requestBody?.content?.['application/json']?.schema;
    if (ex.body === undefined) {
      if (op.requestBody?.required) problems.push('request body is required');
    } else if (!bodySchema) {
      problems.push(`${opName} takes no request body`);
    } else {
      problems.push(...schemaErrors(compile(`${opKey} body`, bodySchema), ex.body, 'request body'));
    }
    return problems;
  }

  function responseProblems(op: Operation, opKey: string, opName: string, ex: Exchange): string[] {
    const problems: string[] = [];
    const status = ex.status ?? 0;
    if (status === 0) return problems;
    const documented = op.responses?.[String(status)] ?? op.responses?.default;
    let responseSchema: Schema | undefined = documented?.content?.['application/json']?.schema;
    let cacheKey = `${opKey} response ${status}`;
    const undocumented = UNDOCUMENTED_SUCCESS[opKey]?.[String(status)];
    if (undocumented) {
      responseSchema = undocumented;
      cacheKey += ' (documented in port-api.md)';
    } else if (opKey === 'delete /v1/blueprints/{blueprint_identifier}/all-entities' && status === 200) {
      responseSchema = { type: 'object', properties: { ok: { const: true }, migrationId: { type: 'string' } }, required: ['ok'] };
      cacheKey += ' (migrationId)';
    } else if (!documented) {
      if (status >= 400) {
        responseSchema = ERROR_BODY;
        cacheKey = 'error body';
      } else {
        problems.push(`response status ${status} is not documented for ${opName}`);
        return problems;
      }
    }
    if (responseSchema) {
      problems.push(...schemaErrors(compile(cacheKey, allowEntityMeta(responseSchema) as Schema), ex.responseBody, `response ${status} body`));
    }
    return problems;
  }

  return {
    validateExchange,
    matchRoute,
    validateAll(exchanges, options) {
      const out: string[] = [];
      for (const ex of exchanges) {
        for (const p of validateExchange(ex, options)) out.push(`${ex.method.toUpperCase()} ${ex.path} → ${ex.status ?? 0}: ${p}`);
      }
      return out;
    },
  };
}

/** Smallest value read as epoch seconds rather than seconds from now (Ocean's rule, port-api.md §6.2). */
const EPOCH_SECONDS_FLOOR = 10_000;

/**
 * Headers DOCS promise on every response (port-api.md §6.2, §7): X-Trace-Id, and the four x-ratelimit-* headers
 * with the reset in epoch seconds.
 */
function headerProblems(ex: Exchange): string[] {
  const headers = ex.responseHeaders;
  if (!headers || !ex.status) return [];
  const problems: string[] = [];
  if (!headers['x-trace-id']) problems.push('response has no X-Trace-Id header');
  for (const name of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-period', 'x-ratelimit-reset']) {
    const value = headers[name];
    if (value === undefined || !/^\d+$/.test(value)) problems.push(`response header ${name} is ${JSON.stringify(value)}, not a whole number`);
  }
  const reset = Number(headers['x-ratelimit-reset']);
  if (!ex.fault && Number.isFinite(reset) && reset <= EPOCH_SECONDS_FLOOR) {
    problems.push(`x-ratelimit-reset ${reset} is not in epoch seconds`);
  }
  return problems;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Query strings are text; give the validator the type the parameter declares. */
function coerceQuery(raw: string | string[], schema: Schema | undefined): unknown {
  const type = schema?.type;
  if (type === 'array') return (Array.isArray(raw) ? raw : raw.split(',')).map((v) => v);
  const v = Array.isArray(raw) ? raw[raw.length - 1]! : raw;
  if (type === 'boolean') return v === 'true' ? true : v === 'false' ? false : v;
  if (type === 'number' || type === 'integer') return v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
  return v;
}

let shared: PortContract | undefined;
/** The contract for the reference spec, loaded once per process. */
export function portContract(): PortContract {
  shared ??= createPortContract();
  return shared;
}

export function validateExchange(exchange: Exchange, options?: ValidateOptions): string[] {
  return portContract().validateExchange(exchange, options);
}

/**
 * For any suite that drives the Port emulator: problems across its recorded exchanges, one line each, e.g.
 * `expect(portTrafficProblems(emulator.requests)).toEqual([])` in an afterAll.
 */
export function portTrafficProblems(
  exchanges: Iterable<Exchange & { seq?: number }>,
  options?: ValidateOptions,
): string[] {
  const contract = portContract();
  const out: string[] = [];
  for (const ex of exchanges) {
    for (const p of contract.validateExchange(ex, options)) {
      out.push(`${ex.seq !== undefined ? `#${ex.seq} ` : ''}${ex.method.toUpperCase()} ${ex.path} → ${ex.status ?? 0}: ${p}`);
    }
  }
  return out;
}
