/**
 * The bench report: the JSON shape issue #7 fixes (written with --out) and the markdown table printed to stdout.
 */
import os from 'node:os';
import { writeFileSync } from 'node:fs';

export interface PortRequestReport {
  total: number;
  bulkUpsert: number;
  search: number;
  delete: number;
  token: number;
  other: number;
}

export interface ScenarioReport {
  name: string;
  resources: number;
  wallMs: number;
  boundMs: number;
  /** null when the scenario has no configured cost to bound it (cold start). */
  ratioToBound: number | null;
  argQueries: number;
  portRequests: PortRequestReport;
  portWrites: number;
  peakRssMb: number;
  events: number | null;
  eventsPerSecond: number | null;
  freshness?: FreshnessReport;
}

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

/** S6: seconds from an Azure change to Port (test/bench/freshness/). Null percentiles fall on unreached changes. */
export interface FreshnessReport {
  changes: number;
  /** From Resource Graph first showing the final state to Port holding it (0 when Port had it first). */
  freshnessMs: Percentiles;
  /** From the ARM change to Port holding the final state. */
  freshnessAbsoluteMs: Percentiles;
  /** The same for the sparse part of the stream only (the absolute target is for sparse changes). */
  sparseFreshnessMs: Percentiles;
  sparseFreshnessAbsoluteMs: Percentiles;
  argQueries: number;
  portRequests: number;
  armReads: number;
  /** Changes not final when the run stopped waiting (a group delete is final when every resource in it is gone). */
  unreached: number;
  /** Times Port went from the final state back to another one (a stale intermediate written). */
  regressions: number;
  lagModel: string;
  deliveryModel: string;
}

export interface BenchReport {
  machine: { cpus: number; node: string };
  scenarios: ScenarioReport[];
}

/** Details that do not belong in the fixed JSON shape but help read it: printed under the table. */
export interface ScenarioNotes {
  name: string;
  lines: string[];
}

export function machine(): BenchReport['machine'] {
  return { cpus: os.availableParallelism(), node: process.version };
}

/** Keeps exactly the documented keys, in the documented order, whatever the scenario objects carried. */
export function toReportJson(report: BenchReport): string {
  const scenarios = report.scenarios.map((s) => (s.freshness ? freshnessJson(s, s.freshness) : {
    name: s.name,
    resources: s.resources,
    wallMs: Math.round(s.wallMs),
    boundMs: Math.round(s.boundMs),
    ratioToBound: s.ratioToBound === null ? null : round(s.ratioToBound, 3),
    argQueries: s.argQueries,
    portRequests: {
      total: s.portRequests.total,
      bulkUpsert: s.portRequests.bulkUpsert,
      search: s.portRequests.search,
      delete: s.portRequests.delete,
      token: s.portRequests.token,
      other: s.portRequests.other,
    },
    portWrites: s.portWrites,
    peakRssMb: round(s.peakRssMb, 1),
    events: s.events,
    eventsPerSecond: s.eventsPerSecond === null ? null : round(s.eventsPerSecond, 1),
  }));
  return JSON.stringify({ machine: { cpus: report.machine.cpus, node: report.machine.node }, scenarios }, null, 2) + '\n';
}

/** S6's JSON: the keys issue #14 fixes first, then what helps read them. */
function freshnessJson(s: ScenarioReport, f: FreshnessReport) {
  const per = (n: number) => (f.changes > 0 ? round(n / f.changes, 3) : null);
  return {
    name: s.name,
    freshnessMs: f.freshnessMs,
    freshnessAbsoluteMs: f.freshnessAbsoluteMs,
    changes: f.changes,
    argQueries: f.argQueries,
    portRequests: f.portRequests,
    armReads: f.armReads,
    requestsPerChange: { arg: per(f.argQueries), port: per(f.portRequests), arm: per(f.armReads) },
    sparseFreshnessMs: f.sparseFreshnessMs,
    sparseFreshnessAbsoluteMs: f.sparseFreshnessAbsoluteMs,
    unreached: f.unreached,
    regressions: f.regressions,
    lagModel: f.lagModel,
    deliveryModel: f.deliveryModel,
    wallMs: Math.round(s.wallMs),
    peakRssMb: round(s.peakRssMb, 1),
  };
}

const seconds = (ms: number | null) => (ms === null ? 'unreached' : `${(ms / 1000).toFixed(1)}`);
const trio = (p: Percentiles) => `${seconds(p.p50)} / ${seconds(p.p95)} / ${seconds(p.p99)} / ${seconds(p.max)}`;

/** S6's own table: it measures seconds to Port, not throughput. */
export function freshnessMarkdown(report: BenchReport): string {
  const rows = report.scenarios.filter((s) => s.freshness);
  if (rows.length === 0) return '';
  const lines = [
    '| Scenario | Changes | Relative to ARG visibility p50/p95/p99/max (s) | Absolute from ARM p50/p95/p99/max (s) | Sparse absolute p50/p99 (s) | ARG q/change | Port req/change | ARM reads/change | Unreached | Regressions |',
    '|---|---:|---|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const s of rows) {
    const f = s.freshness!;
    const per = (n: number) => (n / Math.max(1, f.changes)).toFixed(2);
    lines.push(
      `| ${s.name} | ${f.changes} | ${trio(f.freshnessMs)} | ${trio(f.freshnessAbsoluteMs)} | ${seconds(f.sparseFreshnessAbsoluteMs.p50)} / ${seconds(f.sparseFreshnessAbsoluteMs.p99)} | ${per(f.argQueries)} | ${per(f.portRequests)} | ${per(f.armReads)} | ${f.unreached} | ${f.regressions} |`,
    );
  }
  lines.push('', ...rows.map((s) => `Lag model: Resource Graph ${s.freshness!.lagModel}; Event Grid delivery ${s.freshness!.deliveryModel}.`));
  return lines.join('\n') + '\n';
}

export function writeReport(file: string, report: BenchReport): void {
  writeFileSync(file, toReportJson(report));
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

const fmt = (n: number | null, digits = 0): string =>
  n === null ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function toMarkdown(report: BenchReport, notes: ScenarioNotes[] = []): string {
  const header =
    '| Scenario | Resources | Wall (s) | Bound (s) | ×Bound | ARG queries | Port req (token/search/bulk/delete/other) | Port writes | Peak RSS (MB) | Events | Events/s |';
  const rule = '|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|';
  const rows = report.scenarios.filter((s) => !s.freshness).map((s) => {
    const p = s.portRequests;
    return (
      `| ${s.name} | ${fmt(s.resources)} | ${fmt(s.wallMs / 1000, 2)} | ${fmt(s.boundMs / 1000, 2)} | ` +
      `${fmt(s.ratioToBound, 2)} | ${fmt(s.argQueries)} | ${fmt(p.total)} (${p.token}/${p.search}/${p.bulkUpsert}/${p.delete}/${p.other}) | ` +
      `${fmt(s.portWrites)} | ${fmt(s.peakRssMb, 0)} | ${fmt(s.events)} | ${fmt(s.eventsPerSecond, 0)} |`
    );
  });
  const out = [`Machine: ${report.machine.cpus} CPUs, Node ${report.machine.node}`, '', header, rule, ...rows];
  const fresh = freshnessMarkdown(report);
  if (fresh) out.push('', fresh.trimEnd());
  const noteLines = notes.flatMap((n) => n.lines.map((l) => `- ${n.name}: ${l}`));
  if (noteLines.length > 0) out.push('', ...noteLines);
  return out.join('\n') + '\n';
}

export interface Target {
  scenario: string;
  description: string;
  met: boolean;
  actual: string;
}

/** Issue #7's targets, evaluated (reported, never asserted on times). */
export function evaluateTargets(report: BenchReport): Target[] {
  const by = new Map(report.scenarios.map((s) => [s.name, s]));
  const targets: Target[] = [];
  const s1 = by.get('S1');
  if (s1 && s1.ratioToBound !== null) {
    targets.push({ scenario: 'S1', description: '≤ 1.25× bound', met: s1.ratioToBound <= 1.25, actual: `${s1.ratioToBound.toFixed(2)}×` });
  }
  const s2 = by.get('S2');
  if (s2) targets.push({ scenario: 'S2', description: '0 Port writes', met: s2.portWrites === 0, actual: `${s2.portWrites}` });
  const s3 = by.get('S3');
  if (s3 && s1) {
    const share = s3.portRequests.total / Math.max(1, s1.portRequests.total);
    targets.push({
      scenario: 'S3',
      description: "Port requests ≤ 2% of S1's",
      met: share <= 0.02,
      actual: `${(share * 100).toFixed(2)}% (${s3.portRequests.total} vs ${s1.portRequests.total})`,
    });
  }
  for (const s4 of report.scenarios.filter((s) => s.name.startsWith('S4') && s.events !== null)) {
    const perRequest = s4.events! / Math.max(1, s4.portRequests.total);
    targets.push({ scenario: s4.name, description: '≥ 10 events per Port request', met: perRequest >= 10, actual: perRequest.toFixed(1) });
    targets.push({
      scenario: s4.name,
      description: '≥ 500 events/s',
      met: (s4.eventsPerSecond ?? 0) >= 500,
      actual: fmt(s4.eventsPerSecond, 0),
    });
  }
  const s6 = by.get('S6')?.freshness;
  if (s6) {
    const le = (v: number | null, limit: number) => v !== null && v <= limit;
    targets.push({ scenario: 'S6', description: 'relative p50 ≤ 2 s', met: le(s6.freshnessMs.p50, 2000), actual: `${seconds(s6.freshnessMs.p50)} s` });
    targets.push({ scenario: 'S6', description: 'relative p99 ≤ 10 s', met: le(s6.freshnessMs.p99, 10_000), actual: `${seconds(s6.freshnessMs.p99)} s` });
    targets.push({
      scenario: 'S6',
      description: 'absolute p50 ≤ 5 s (sparse changes)',
      met: le(s6.sparseFreshnessAbsoluteMs.p50, 5000),
      actual: `${seconds(s6.sparseFreshnessAbsoluteMs.p50)} s`,
    });
  }
  const s5 = by.get('S5');
  if (s5) targets.push({ scenario: 'S5', description: '≤ 250 ms', met: s5.wallMs <= 250, actual: `${Math.round(s5.wallMs)} ms` });
  for (const s of report.scenarios.filter((x) => !x.freshness)) {
    targets.push({ scenario: s.name, description: 'peak RSS ≤ 300 MB', met: s.peakRssMb <= 300, actual: `${s.peakRssMb.toFixed(0)} MB` });
  }
  return targets;
}

export function targetsMarkdown(targets: Target[]): string {
  return (
    ['| Scenario | Target | Actual | Met |', '|---|---|---|---|', ...targets.map((t) => `| ${t.scenario} | ${t.description} | ${t.actual} | ${t.met ? 'yes' : '**no**'} |`)].join(
      '\n',
    ) + '\n'
  );
}
