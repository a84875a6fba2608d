/**
 * The default mapping: shared/mapping/default-port-app-config.json, the port-app-config that produces exactly the
 * entities the app has always written (test/mapping/defaultEquivalence.test.ts proves it against the former
 * hard-coded mapRow). It is imported as JSON so `npm run build` puts it in dist/ with the code. Blueprint ids come
 * from settings through the `$blueprints` variable, so PORT_BLUEPRINT_* keep working.
 */
import defaultConfig from './default-port-app-config.json' with { type: 'json' };
import { loadMappingValue, type LoadedMapping, type LoadMappingOptions } from './config/load.js';

export const DEFAULT_MAPPING_ORIGIN = 'the default mapping (shared/mapping/default-port-app-config.json)';

/** A fresh copy of the default port-app-config object (users start from it: `azure-port-sync mapping default`). */
export function defaultPortAppConfig(): unknown {
  return structuredClone(defaultConfig);
}

export function loadDefaultMapping(options: LoadMappingOptions): Promise<LoadedMapping> {
  return loadMappingValue(defaultPortAppConfig(), DEFAULT_MAPPING_ORIGIN, options);
}
