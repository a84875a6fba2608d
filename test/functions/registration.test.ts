/**
 * What the Functions host would see when it loads our entry files: we stand in for the host's core API module
 * (`@azure/functions-core`, which only exists inside the worker) and capture every registerFunction call.
 *
 * vi.mock cannot reach it: @azure/functions is a CommonJS bundle loaded by Node's own require, outside Vite's module
 * graph. So the fake is put where Node's require finds it, before @azure/functions is loaded.
 */
import Module, { createRequire } from 'node:module';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

interface Binding {
  type: string;
  direction: string;
  [key: string]: unknown;
}
interface Registered {
  name: string;
  bindings: Record<string, Binding>;
  handler: unknown;
  file?: string;
}

/** The expected functions: edit this table when a function is added. Only the listed binding keys are compared. */
const EXPECTED: Record<string, { file: string; trigger: Binding }> = {
  resourceEvents: {
    file: 'resourceEvents.ts',
    trigger: { type: 'queueTrigger', direction: 'in', queueName: '%RESOURCE_EVENTS_QUEUE%', connection: 'AzureWebJobsStorage' },
  },
  reconcile: {
    file: 'reconcile.ts',
    trigger: { type: 'timerTrigger', direction: 'in', schedule: '%RECONCILE_SCHEDULE%' },
  },
  resync: {
    file: 'resync.ts',
    trigger: { type: 'httpTrigger', direction: 'in', authLevel: 'function', methods: ['POST'] },
  },
};

/** Entry files that register hooks only (no function): file → the hooks it must register. */
const HOOK_ONLY_FILES: Record<string, string[]> = {
  'startup.ts': ['appStart'],
};

const FUNCTIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'functions');
const registered: Registered[] = [];
const hooks: { name: string; file?: string }[] = [];
let loadingFile: string | undefined;
let programmingModel: unknown;

function installFakeCoreApi(): void {
  const fakePath = path.join(FUNCTIONS_DIR, '__fake_azure_functions_core__.js');
  const require = createRequire(import.meta.url);
  const loader = Module as unknown as {
    _resolveFilename: (request: string, ...rest: unknown[]) => string;
    _cache: Record<string, unknown>;
  };
  const original = loader._resolveFilename;
  loader._resolveFilename = function (request: string, ...rest: unknown[]) {
    return request === '@azure/functions-core' ? fakePath : original.call(this, request, ...rest);
  };
  const fake = new Module(fakePath);
  fake.filename = fakePath;
  fake.loaded = true;
  fake.exports = {
    version: '4.99.0-test',
    setProgrammingModel: (model: unknown) => {
      programmingModel = model;
    },
    getProgrammingModel: () => programmingModel,
    registerFunction: (metadata: { name: string; bindings: Record<string, Binding> }, handler: unknown) => {
      registered.push({ name: metadata.name, bindings: metadata.bindings, handler, ...(loadingFile ? { file: loadingFile } : {}) });
      return { dispose() {} };
    },
    registerHook: (name: string) => {
      hooks.push({ name, ...(loadingFile ? { file: loadingFile } : {}) });
      return { dispose() {} };
    },
    log: () => {},
  };
  loader._cache[fakePath] = fake;
  // Sanity: the package now sees "the host".
  expect(require('@azure/functions-core')).toBe(fake.exports);
}

describe('function registration', () => {
  const files = readdirSync(FUNCTIONS_DIR).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));

  beforeAll(async () => {
    installFakeCoreApi();
    for (const file of files) {
      loadingFile = file;
      await import(pathToFileURL(path.join(FUNCTIONS_DIR, file)).href);
    }
    loadingFile = undefined;
  });

  it('the host API stand-in received a programming model', () => {
    expect(programmingModel).toBeDefined();
  });

  it('registers exactly the expected functions', () => {
    // Every expected function is registered: a deleted or renamed entry file fails here, not silently passes.
    expect(registered.map((r) => r.name).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const expected of Object.values(EXPECTED)) expect(files, `functions/${expected.file} is missing`).toContain(expected.file);
    // Every entry file is either in the function table or a known hook-only file.
    expect(files.filter((f) => !Object.values(EXPECTED).some((e) => e.file === f) && !(f in HOOK_ONLY_FILES))).toEqual([]);
    for (const fn of registered) expect(EXPECTED[fn.name]?.file, `${fn.name} registered from ${fn.file}`).toBe(fn.file);
  });

  for (const [file, expectedHooks] of Object.entries(HOOK_ONLY_FILES)) {
    it(`${file} registers its hooks and no function`, () => {
      expect(files, `functions/${file} is missing`).toContain(file);
      expect(registered.filter((r) => r.file === file)).toEqual([]);
      expect(hooks.filter((h) => h.file === file).map((h) => h.name)).toEqual(expectedHooks);
    });
  }

  for (const [name, expected] of Object.entries(EXPECTED)) {
    it(`${name}: ${expected.trigger.type} with the expected binding`, () => {
      const fn = registered.find((r) => r.name === name);
      expect(fn, `${name} is not registered`).toBeDefined();
      const triggers = Object.values(fn!.bindings).filter((b) => b.type.endsWith('Trigger'));
      expect(triggers).toHaveLength(1);
      expect(triggers[0]).toMatchObject(expected.trigger);
      expect(typeof fn!.handler).toBe('function');
    });
  }
});
