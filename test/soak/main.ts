/**
 * `npm run soak -- --minutes N`: runs the convergence property with fresh seeds until the time is up.
 * Every failure prints its seed and the shrunk scenario (paste it into test/soak/regressions.test.ts).
 *
 *   npm run soak -- --minutes 10
 *   npm run soak -- --seed 12345 --runs 50      replay one seed
 */
import { Command, InvalidArgumentError } from 'commander';
import { soakBatch, totals, type SoakBatchResult } from './property.js';

function positive(flag: string, integer: boolean) {
  return (raw: string): number => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`${flag} expects a positive ${integer ? 'whole ' : ''}number, got "${raw}"`);
    }
    return n;
  };
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('soak')
    .description('Fault-injection convergence soak (fast-check): Port must end equal to the emulated Azure estate.')
    .option('--minutes <n>', 'keep running new seeds for this long', positive('--minutes', false), 1)
    .option('--runs <n>', 'scenarios per seed', positive('--runs', true), 20)
    .option('--seed <n>', 'run only this seed (replay)', positive('--seed', true))
    .exitOverride();
  try {
    program.parse(argv, { from: 'user' });
  } catch (error) {
    return (error as { exitCode?: number }).exitCode ?? 2;
  }
  const o = program.opts<{ minutes: number; runs: number; seed?: number }>();
  const deadline = Date.now() + o.minutes * 60_000;
  const failures: SoakBatchResult[] = [];
  let scenarios = 0;
  let seeds = 0;
  const report = (r: SoakBatchResult) => {
    seeds++;
    scenarios += r.runs;
    if (!r.failed) {
      process.stdout.write(`seed ${r.seed}: ${r.runs} scenarios converged\n`);
      return;
    }
    failures.push(r);
    process.stdout.write(`\nFAILED seed ${r.seed} (replay: npm run soak -- --seed ${r.seed} --runs ${o.runs})\n${r.error}\nshrunk scenario:\n${r.counterexample}\n\n`);
  };
  if (o.seed !== undefined) {
    report(await soakBatch(o.seed, o.runs));
  } else {
    do {
      report(await soakBatch(Math.floor(Math.random() * 2 ** 31), o.runs));
    } while (Date.now() < deadline);
  }
  const line = (name: string, r: Record<string, number>) =>
    `  ${name}: ${Object.entries(r).sort().map(([k, v]) => `${k} ${v}`).join(', ')}\n`;
  process.stdout.write(
    '\nExercised (all scenarios, including fast-check shrinking):\n' +
      line('steps', totals.steps) +
      line('messages', totals.messages) +
      line('message outcomes', totals.outcomes) +
      line('reconciliation runs', totals.runs) +
      line('final run mode', totals.finalMode) +
      line('event path', totals.eventPath) +
      line('unkind modes', totals.unkind),
  );
  process.stdout.write(`\n${scenarios} scenarios over ${seeds} seeds; ${failures.length} failing seed(s)${failures.length ? ': ' + failures.map((f) => f.seed).join(', ') : ''}\n`);
  return failures.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
