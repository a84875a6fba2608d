/**
 * Real jq (1.8.2, compiled to WebAssembly by the `jq-wasm` package): the reference every compiled expression is
 * tested against, the compiler of record (every program is compiled by it first, so syntax errors are jq's own),
 * and the evaluator of whatever the JavaScript compiler leaves out. One call costs milliseconds, so rows are
 * always sent in batches: one jq run evaluates several programs over a whole array of rows.
 */
import { loadJq, type Jq } from 'jq-wasm';
import type { Json } from './values.js';

/** One program's result on one row: all outputs (or only the first, in `first` mode), or the error value. */
export type RealResult = { ok: true; values: Json[] } | { ok: false; error: Json };

export interface RealJqRequest {
  /** Index into the programs array. */
  program: number;
  row: number;
}

let loading: Promise<RealJq> | undefined;

/** The shared instance (the wasm module is compiled once per process). */
export function loadRealJq(): Promise<RealJq> {
  loading ??= loadJq().then((jq) => new RealJq(jq));
  return loading;
}

/** `--argjson` flags for the variables every program may read. */
function varFlags(vars: Record<string, Json>): string[] {
  return Object.entries(vars).flatMap(([name, value]) => ['--argjson', name, JSON.stringify(value)]);
}

/** jq's compile diagnostics without its decoration (positions already point into the user's program). */
function cleanDiagnostics(stderr: string): string {
  const messages: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^jq: error: (.*)$/.exec(line);
    if (m) messages.push(m[1]!.replace(/ at <top-level>, line (\d+), column (\d+):?$/, ' (line $1, column $2)').replace(/ at <top-level>, line (\d+):?$/, ' (line $1)').replace(/:$/, ''));
  }
  return messages.length > 0 ? messages.join('; ') : stderr.trim();
}

/** How a program is embedded in a batch run (one definition per program). */
const asDefinition = (program: string, name: string) => `def ${name}: ${program}\n;`;

export class RealJq {
  constructor(private readonly jq: Jq) {}

  get version(): string {
    return this.jq.version;
  }

  /**
   * jq's compile error for `program`, or undefined when it compiles. Nothing is evaluated: with no input at all jq
   * compiles the program and runs it zero times. The program must also compile as a batch definition.
   */
  compileError(program: string, vars: Record<string, Json> = {}): string | undefined {
    const flags = varFlags(vars);
    const key = `${flags.join('\u0000')}\u0001${program}`;
    if (this.compiled.has(key)) return this.compiled.get(key);
    const error = this.check(program, flags);
    if (this.compiled.size >= 10_000) this.compiled.clear();
    this.compiled.set(key, error);
    return error;
  }

  /** Compile results by program and variables: a mapping re-read from Port is mostly the same expressions. */
  private readonly compiled = new Map<string, string | undefined>();

  private check(program: string, flags: string[]): string | undefined {
    const bare = this.jq.raw('', program, flags);
    if (bare.exitCode !== 0) return cleanDiagnostics(bare.stderr);
    const embedded = this.jq.raw('', `${asDefinition(program, '__e0')} __e0 | empty`, flags);
    if (embedded.exitCode !== 0) return `cannot be used as a mapping expression: ${cleanDiagnostics(embedded.stderr)}`;
    return undefined;
  }

  /**
   * Evaluates `requests` (program × row pairs) in one jq run. `first`: at most the first output of each program,
   * as Port's integrations take it; `all`: every output (the differential tests).
   */
  evaluate(programs: readonly string[], rows: readonly Json[], requests: readonly RealJqRequest[], vars: Record<string, Json>, mode: 'first' | 'all'): RealResult[] {
    if (requests.length === 0) return [];
    const used = [...new Set(requests.map((r) => r.program))];
    const slot = new Map(used.map((p, i) => [p, i]));
    // Each program keeps its own first line, so $__loc__ and jq's messages count lines as the user does.
    const defs = used.map((p, i) => asDefinition(programs[p]!, `__e${i}`)).join('\n');
    const dispatch = used.map((_p, i) => `${i === 0 ? 'if' : 'elif'} $i == ${i} then __e${i}`).join(' ');
    const apply = mode === 'first' ? '[limit(1; __run($i))]' : '[__run($i)]';
    const query = `${defs}\ndef __run($i): ${dispatch} else error("no such program") end;\n` +
      `.[] | .[0] as $row | .[1] | map(. as $i | $row | try (${apply} | [0, .]) catch [1, .])`;
    // Group the requests by row so each row crosses into wasm once.
    const byRow = new Map<number, number[]>();
    for (const r of requests) {
      const list = byRow.get(r.row) ?? [];
      list.push(slot.get(r.program)!);
      byRow.set(r.row, list);
    }
    const input = JSON.stringify([...byRow].map(([row, which]) => [rows[row], which]));
    const result = this.jq.raw(input, query, ['-c', ...varFlags(vars)]);
    if (result.exitCode !== 0) {
      throw new Error(`jq (${this.version}) failed on a batch of ${byRow.size} row(s): ${result.stderr.trim()}`);
    }
    const lines = result.stdout === '' ? [] : result.stdout.split('\n');
    if (lines.length !== byRow.size) throw new Error(`jq returned ${lines.length} results for ${byRow.size} rows`);
    const answers = new Map<string, RealResult>();
    let lineIndex = 0;
    for (const [row, which] of byRow) {
      const parsed = JSON.parse(lines[lineIndex++]!) as [0 | 1, Json][];
      which.forEach((programSlot, k) => {
        const [failed, payload] = parsed[k]!;
        answers.set(`${row}:${used[programSlot]}`, failed ? { ok: false, error: payload } : { ok: true, values: payload as Json[] });
      });
    }
    return requests.map((r) => answers.get(`${r.row}:${r.program}`)!);
  }
}
