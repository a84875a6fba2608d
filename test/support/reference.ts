/**
 * Where the team's reference material lives: `../shared/reference` beside the repository root (CI clones the repo
 * with shared/ beside it, wherever that is). Tests build fixtures from these files, never from memory.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const REFERENCE_DIR = process.env['AZURE_PORT_SYNC_REFERENCE_DIR'] ?? path.resolve(REPO_ROOT, '../shared/reference');

if (!existsSync(REFERENCE_DIR)) {
  throw new Error(`reference material not found at ${REFERENCE_DIR} (expected ../shared/reference beside the repository)`);
}

/** A path inside the reference folder, e.g. reference('azure-specs/resourcegraph/...'). */
export function reference(...segments: string[]): string {
  return path.join(REFERENCE_DIR, ...segments);
}

export const EVENTGRID_RESOURCES_EXAMPLES = reference(
  'azure-specs/eventgrid/data-plane/Microsoft.Resources/stable/2018-01-01/examples',
);
export const EVENTGRID_SPECS = reference('azure-specs/eventgrid/data-plane');
export const RESOURCEGRAPH_STABLE = reference(
  'azure-specs/resourcegraph/resource-manager/Microsoft.ResourceGraph/stable/2024-04-01',
);
export const PORT_OPENAPI = reference('port-openapi.yaml');
