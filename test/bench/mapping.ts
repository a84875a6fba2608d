/**
 * Mapping micro-benchmark (issue #12): CPU per Resource Graph row per mapping entry, for the default mapping and
 * the example mapping (examples/port-app-config.yaml), over generated rows (100k at scale 1), mapped in pages of
 * 1000 as the sync does. CPU is process.cpuUsage (user + system) around mapRows only; a warm-up pass comes first
 * so the JIT and the jq-wasm module are ready. A "real jq only" row maps a sample with every expression forced onto
 * jq-wasm (still batched per page), the cost the JavaScript compiler avoids.
 *
 *   npm run bench -- --mapping-only              just this benchmark
 *   NODE_OPTIONS=--expose-gc npm run bench -- --mapping-only   also a full collection before each measurement
 *   npm run bench -- --mapping-only --scale 0.1  10k rows
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ArgRow } from '../../shared/azure/types.js';
import { loadMapping } from '../../shared/mapping/config/load.js';
import { loadDefaultMapping } from '../../shared/mapping/default.js';
import { mapRow } from '../../shared/mapping/index.js';
import { JqCatalogMapper } from '../../shared/mapping/mapper.js';
import { DEFAULT_BLUEPRINT_IDS } from '../../shared/port/blueprints.js';
import { generateEstate, prng } from '../fixtures/estate.js';
import { REPO_ROOT } from './paths.js';

export interface MappingBenchRow {
  mapping: string;
  rows: number;
  /** Configured entries, and entries whose kind matched a row, summed over rows. */
  entries: number;
  rowEntries: number;
  cpuMs: number;
  usPerRow: number;
  /** The target's unit: CPU per row per entry that maps it. */
  usPerRowEntry: number;
  /** Row × expression evaluations that went to real jq (deferred inputs, builtin error messages). */
  realJqEvaluations: number;
  entities: number;
}

export interface MappingBenchReport {
  jq: string;
  rows: MappingBenchRow[];
  targetUsPerRowEntry: number;
}

const PAGE = 1000;

/** Properties Resource Graph returns for the types the example mapping reads. */
function withProperties(row: ArgRow, random: () => number): ArgRow {
  const type = String(row.type);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
  if (type === 'microsoft.storage/storageaccounts') {
    return { ...row, properties: { supportsHttpsTrafficOnly: random() < 0.9, minimumTlsVersion: pick(['TLS1_0', 'TLS1_2']), publicNetworkAccess: pick(['Enabled', 'Disabled']), encryption: { keySource: pick(['Microsoft.Storage', 'Microsoft.Keyvault']), services: { blob: { enabled: true }, file: { enabled: true } } }, provisioningState: row.provisioningState } };
  }
  if (type === 'microsoft.compute/virtualmachines') {
    return { ...row, zones: random() < 0.5 ? [pick(['1', '2', '3'])] : null, properties: { hardwareProfile: { vmSize: pick(['Standard_D2s_v5', 'Standard_B2ms']) }, storageProfile: { osDisk: { osType: pick(['Linux', 'Windows']) } }, priority: pick(['Regular', 'Spot']) } };
  }
  if (type === 'microsoft.containerservice/managedclusters') {
    return { ...row, properties: { kubernetesVersion: pick(['1.29.7', '1.30.4']), nodeResourceGroup: `MC_${String(row.resourceGroup)}`, apiServerAccessProfile: { enablePrivateCluster: random() < 0.5 }, agentPoolProfiles: [{ name: 'system', count: 3 }, { name: 'user', count: Math.floor(random() * 10) }] } };
  }
  return { ...row, properties: {} };
}

/** A full collection before each measurement (when node runs with --expose-gc), so one run's garbage is not billed to the next. */
function collect(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * Rows arrive as Resource Graph pages do: parsed from JSON just before they are mapped, so only a page is alive at
 * a time (as in a sync); only the mapping call is timed.
 */
function* pages(serialized: string[]): Generator<ArgRow[]> {
  for (const page of serialized) yield JSON.parse(page) as ArgRow[];
}

function timed(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

/** The hard-coded mapping the default file replaced, as the reference cost per row. */
function measureMapRow(serialized: string[]): MappingBenchRow {
  collect();
  let entities = 0;
  let rows = 0;
  let us = 0;
  for (const page of pages(serialized)) {
    rows += page.length;
    us += timed(() => {
      for (const row of page) if (mapRow(row, DEFAULT_BLUEPRINT_IDS)) entities++;
    });
  }
  const cpuMs = us / 1000;
  return { mapping: 'before: hard-coded mapRow (shared/mapping/index.ts)', rows, entries: 3, rowEntries: rows, cpuMs: Math.round(cpuMs), usPerRow: Number((us / rows).toFixed(2)), usPerRowEntry: Number((us / rows).toFixed(2)), realJqEvaluations: 0, entities };
}

function measure(name: string, mapper: JqCatalogMapper, serialized: string[]): MappingBenchRow {
  collect();
  const before = mapper.engine.realEvaluations;
  let rowEntries = 0;
  let entities = 0;
  let rows = 0;
  let us = 0;
  for (const page of pages(serialized)) {
    rows += page.length;
    let mapped: ReturnType<JqCatalogMapper['mapRows']> = [];
    us += timed(() => {
      mapped = mapper.mapRows(page);
    });
    for (const m of mapped) {
      rowEntries += m.entities.length + m.unselected.length + m.rejected.length;
      entities += m.entities.length;
    }
  }
  const cpuMs = us / 1000;
  return {
    mapping: name,
    rows,
    entries: mapper.entries.length,
    rowEntries,
    cpuMs: Math.round(cpuMs),
    usPerRow: Number(((cpuMs * 1000) / rows).toFixed(2)),
    usPerRowEntry: Number(((cpuMs * 1000) / rowEntries).toFixed(2)),
    realJqEvaluations: mapper.engine.realEvaluations - before,
    entities,
  };
}

/** The same mapping with every expression on real jq (nothing compiled to JavaScript). */
function realJqOnly(mapper: JqCatalogMapper): JqCatalogMapper {
  const strip = <T extends { code: unknown }>(e: T): T => ({ ...e, code: undefined });
  const entries = mapper.entries.map((e) => ({
    ...e,
    query: strip(e.query),
    identifier: strip(e.identifier),
    ...(e.title ? { title: strip(e.title) } : {}),
    ...(e.icon ? { icon: strip(e.icon) } : {}),
    ...(e.team ? { team: strip(e.team) } : {}),
    properties: e.properties.map(([k, x]) => [k, strip(x)] as const),
    relations: e.relations.map(([k, x]) => [k, strip(x)] as const),
  }));
  return new JqCatalogMapper(mapper.engine, entries, mapper.settings);
}

export async function runMappingBench(options: { scale: number; seed: number; progress?: (line: string) => void }): Promise<MappingBenchReport> {
  const resources = Math.max(1000, Math.round(100_000 * options.scale));
  const estate = generateEstate({ subscriptions: Math.max(1, Math.round(200 * options.scale)), resourceGroups: Math.max(1, Math.round(2_000 * options.scale)), resources, seed: options.seed });
  const projectedRows = [...estate.subscriptions, ...estate.resourceGroups, ...estate.resources].slice(0, resources);
  const random = prng(options.seed);
  const serialize = (rows: ArgRow[]) => {
    const out: string[] = [];
    for (let i = 0; i < rows.length; i += PAGE) out.push(JSON.stringify(rows.slice(i, i + PAGE)));
    return out;
  };
  const projected = serialize(projectedRows);
  const withColumns = serialize(projectedRows.map((row) => withProperties(row, random)));
  const firstPages = (serialized: string[], rows: number) => serialized.slice(0, Math.max(1, Math.ceil(rows / PAGE)));
  const blueprints = DEFAULT_BLUEPRINT_IDS;
  const defaultMapping = (await loadDefaultMapping({ blueprints })).mapper;
  const examplePath = path.join(REPO_ROOT, 'examples', 'port-app-config.yaml');
  const example = (await loadMapping({ text: readFileSync(examplePath, 'utf8'), origin: 'examples/port-app-config.yaml' }, { blueprints })).mapper;

  const results: MappingBenchRow[] = [];
  options.progress?.('mapping bench: hard-coded mapRow, warm-up');
  measureMapRow(firstPages(projected, 20_000));
  results.push(measureMapRow(projected));
  for (const [name, mapper, rows] of [
    ['default (shared/mapping/default-port-app-config.json)', defaultMapping, projected],
    ['example (examples/port-app-config.yaml)', example, withColumns],
  ] as const) {
    options.progress?.(`mapping bench: ${name}, warm-up`);
    measure(name, mapper, firstPages(rows, 20_000));
    options.progress?.(`mapping bench: ${name}, ${resources} rows`);
    results.push(measure(name, mapper, rows));
  }
  options.progress?.('mapping bench: default mapping on real jq only, 5000 rows');
  const slow = realJqOnly(defaultMapping);
  measure('warm-up', slow, firstPages(projected, 1000));
  results.push(measure('default, every expression on real jq (jq-wasm, batched per page)', slow, firstPages(projected, 5_000)));
  return { jq: defaultMapping.engine.jqVersion, rows: results, targetUsPerRowEntry: 20 };
}

export function mappingMarkdown(report: MappingBenchReport): string {
  const lines = [
    `Mapping micro-benchmark (CPU per row per matching entry; target ≤ ${report.targetUsPerRowEntry} µs; reference ${report.jq}):`,
    '',
    '| Mapping | Rows | Entries | Row × entry | CPU ms | µs / row | µs / row / entry | Real-jq evaluations | Target |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...report.rows.map(
      (r) =>
        `| ${r.mapping} | ${r.rows} | ${r.entries} | ${r.rowEntries} | ${r.cpuMs} | ${r.usPerRow} | ${r.usPerRowEntry} | ${r.realJqEvaluations} | ${r.mapping.includes('real jq') || r.mapping.startsWith('before') ? 'reference' : r.usPerRowEntry <= report.targetUsPerRowEntry ? 'met' : 'MISSED'} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
