/**
 * Differential property test: the jq subset compiled to JavaScript (shared/mapping/jq) against real jq 1.8.2
 * (jq-wasm). fast-check generates expressions inside the compiled subset and Resource Graph-like rows; every
 * output (values, order, key order) and every error must agree. Where the compiled code defers (an input it
 * cannot promise jq's answer for), the engine asks real jq, so those rows are counted, not compared.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { errorText, JqEngine, type JqExpression } from '../../shared/mapping/jq/engine.js';
import { loadRealJq, type RealJq } from '../../shared/mapping/jq/realJq.js';
import { Deferred, JqError, type Json } from '../../shared/mapping/jq/values.js';
import { expression, row } from './jqArbitraries.js';

const VARS: Record<string, Json> = { blueprints: { subscription: 'azureSubscription', resourceGroup: 'azureResourceGroup', resource: 'azureCloudResources' } };

type Outcome = { kind: 'values'; values: Json[] } | { kind: 'error'; error: JqError } | { kind: 'deferred'; reason: string };

function runCompiled(expr: JqExpression, input: Json): Outcome {
  let env = null as Parameters<NonNullable<JqExpression['code']>['run']>[1];
  for (const value of Object.values(VARS)) env = { value, parent: env };
  const values: Json[] = [];
  try {
    expr.code!.run(input, env, (v) => values.push(v));
    return { kind: 'values', values };
  } catch (error) {
    if (error instanceof JqError) return { kind: 'error', error };
    if (error instanceof Deferred) return { kind: 'deferred', reason: error.reason };
    throw error;
  }
}

let engine: JqEngine;
let real: RealJq;
const stats = { compared: 0, errors: 0, deferred: 0, expressions: 0 };

beforeAll(async () => {
  engine = await JqEngine.create(VARS);
  real = await loadRealJq();
});

describe('compiled jq equals real jq 1.8', () => {
  it('uses jq 1.8.2 as the reference', () => {
    expect(real.version).toBe('jq-1.8.2');
  });

  it('on generated expressions and rows: same outputs in the same order, errors where jq errors', () => {
    fc.assert(
      fc.property(expression, fc.array(row, { minLength: 1, maxLength: 6 }), (source, rows) => {
        const compiled = engine.compile(source);
        if ('error' in compiled) throw new Error(`generated expression does not compile: ${source}\n${compiled.error}`);
        if (!compiled.code) throw new Error(`generated expression is outside the compiled subset: ${source} (${compiled.fallbackReason})`);
        stats.expressions++;
        const reference = real.evaluate([source], rows, rows.map((_r, i) => ({ program: 0, row: i })), VARS, 'all');
        rows.forEach((input, i) => {
          const mine = runCompiled(compiled, input);
          const theirs = reference[i]!;
          const context = `expression: ${source}\nrow: ${JSON.stringify(input)}\ncompiled: ${JSON.stringify(mine)}\nreal jq: ${JSON.stringify(theirs)}`;
          if (mine.kind === 'deferred') {
            stats.deferred++;
            return;
          }
          stats.compared++;
          if (mine.kind === 'error') {
            stats.errors++;
            if (theirs.ok) throw new Error(`compiled code failed where jq succeeded\n${context}`);
            if (mine.error.exact && mine.error.message !== errorText(theirs.error)) throw new Error(`different error\n${context}`);
            return;
          }
          if (!theirs.ok) throw new Error(`compiled code succeeded where jq failed\n${context}`);
          if (JSON.stringify(mine.values) !== JSON.stringify(theirs.values)) throw new Error(`different outputs\n${context}`);
        });
      }),
      { numRuns: Number(process.env.JQ_DIFF_RUNS ?? 400), seed: process.env.JQ_DIFF_SEED ? Number(process.env.JQ_DIFF_SEED) : undefined },
    );
    // The generators must exercise the compiled code, not mostly defer to real jq.
    expect(stats.compared).toBeGreaterThan(stats.deferred * 2);
    expect(stats.errors).toBeGreaterThan(0);
  });
});
