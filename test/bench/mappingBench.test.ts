/**
 * The mapping micro-benchmark at a small scale, as a test of what it measures (counts, never times): the default
 * and example mappings run entirely as compiled JavaScript, and the default maps every row the old code mapped.
 */
import { describe, expect, it } from 'vitest';
import { mappingMarkdown, runMappingBench } from './mapping.js';

describe('mapping micro-benchmark', () => {
  it('maps the generated rows with no real-jq evaluations, and reports per row per entry', async () => {
    const report = await runMappingBench({ scale: 0.01, seed: 3 });
    const [before, defaults, example, realOnly] = report.rows;
    expect(report.jq).toBe('jq-1.8.2');
    expect(before!.rows).toBe(1000);
    expect(defaults).toMatchObject({ rows: 1000, entries: 3, rowEntries: 1000, entities: before!.entities, realJqEvaluations: 0 });
    expect(example).toMatchObject({ rows: 1000, entries: 6, realJqEvaluations: 0 });
    expect(example!.rowEntries).toBeGreaterThan(1000);
    expect(realOnly!.realJqEvaluations).toBeGreaterThan(0);
    expect(mappingMarkdown(report)).toContain('| µs / row / entry |');
  });
});
