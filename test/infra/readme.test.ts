/**
 * infra/README.md must stay true to what exists: its parameter table, the outputs and files it names, the npm
 * scripts it runs, and the syntax of its KQL queries.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseBicep } from './bicep-checks.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const readme = readFileSync(join(repo, 'infra/README.md'), 'utf8');
const main = parseBicep(join(repo, 'infra/main.bicep'), readFileSync(join(repo, 'infra/main.bicep'), 'utf8'));

function declared(type: 'parameter_declaration' | 'output_declaration'): string[] {
  return main.root.descendantsOfType(type).map((n) => n.namedChildren[0]!.text);
}

interface KustoDiagnostic {
  Severity: string;
  Message: string;
  Start: number;
}
interface KustoGlobal {
  Language: { KustoCode: { Parse(text: string): { GetDiagnostics(): { Count: number; getItem(i: number): KustoDiagnostic } } } };
}

function kqlProblems(query: string): string[] {
  const require = createRequire(import.meta.url);
  require('@kusto/language-service-next/bridge.js');
  require('@kusto/language-service-next/Kusto.Language.Bridge.js');
  const kusto = (globalThis as unknown as { Kusto: KustoGlobal }).Kusto;
  const diagnostics = kusto.Language.KustoCode.Parse(query).GetDiagnostics();
  return Array.from({ length: diagnostics.Count }, (_, i) => diagnostics.getItem(i)).map((d) => `${d.Severity} at ${d.Start}: ${d.Message}`);
}

describe('infra/README.md', () => {
  it('documents exactly the parameters main.bicep declares', () => {
    const section = readme.split('### Parameters (`main.bicep`)')[1]?.split('\n### ')[0] ?? '';
    const documented = [...section.matchAll(/^\| `([A-Za-z0-9]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(declared('parameter_declaration').sort());
  });

  it('takes every camelCase <placeholder> from main.bicep outputs or parameters', () => {
    const outputs = new Set(declared('output_declaration'));
    const known = new Set([...outputs, ...declared('parameter_declaration')]);
    const placeholders = new Set([...readme.matchAll(/<([a-z]+[A-Z][A-Za-z]*)>/g)].map((m) => m[1]!));
    expect([...placeholders]).toEqual(expect.arrayContaining(['functionAppName', 'keyVaultName', 'storageAccountName', 'appIdentityPrincipalId']));
    expect([...placeholders].filter((p) => !known.has(p))).toEqual([]);
    const fromOutputs = [...readme.matchAll(/properties\.outputs\.([A-Za-z]+)/g)].map((m) => m[1]!);
    expect(fromOutputs.filter((o) => !outputs.has(o))).toEqual([]);
    // subscription.bicep is fed from these two outputs.
    for (const o of ['appIdentityPrincipalId', 'storageAccountResourceId']) {
      expect(readme).toContain(`\`${o}\``);
      expect(outputs.has(o)).toBe(true);
    }
  });

  it('refers to files that exist', () => {
    const files = new Set([...readme.matchAll(/infra\/[A-Za-z0-9./-]+\.(?:bicepparam|bicep)\b/g)].map((m) => m[0]));
    expect(files.size).toBeGreaterThan(3);
    expect([...files].filter((f) => !existsSync(join(repo, f)))).toEqual([]);
  });

  it('runs only npm scripts that package.json defines', () => {
    const scripts = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const used = new Set([...readme.matchAll(/npm run ([a-z][a-z0-9:-]*)/g)].map((m) => m[1]!));
    expect(used).toContain('replay-poison');
    expect([...used].filter((s) => !(s in scripts))).toEqual([]);
  });

  it('has KQL queries that parse, including the run summary query', () => {
    const queries = [...readme.matchAll(/```kusto\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(queries.some((q) => q.includes('"reconcile run finished"'))).toBe(true);
    for (const q of queries) expect(kqlProblems(q), q).toEqual([]);
  });

  it('the KQL check rejects a broken query', () => {
    expect(kqlProblems('traces | where timestamp > | project message')).not.toEqual([]);
  });
});
