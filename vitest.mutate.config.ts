/**
 * The tests `npm run mutate` (StrykerJS, stryker.config.mjs) runs against each mutant of the safety kernel: the
 * unit tests and defect reproductions that exercise the kernel files in this process. Suites that spawn the app in
 * a child process (CLI e2e, packaging, sandbox) are left out: code in a child process is not instrumented, so they
 * could only cost time, never kill a mutant. So are the other end-to-end suites (test/reconcile/*.e2e.test.ts, the
 * events rig): every kernel rule has a unit test listed here, and a mutant of a module-level constant ("static")
 * runs every listed test, so each slow file here costs minutes per run. Plain `npm test` does not read this file
 * (vitest.config.ts), and runs everything.
 */
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files whose tests start emulators or run many property cases go last: a mutant's covering tests stop at the first
 * failure (Stryker runs vitest with bail), so the cheap unit tests, which kill most mutants, run first. (Vitest's
 * own order runs the slowest files first.)
 */
const SLOW = ['test/defects/', 'test/azure/portIdentifier.test.ts'];
class FastFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => (SLOW.some((s) => f.moduleId.replaceAll('\\', '/').includes(s)) ? 1 : 0);
    return [...files].sort((a, b) => rank(a) - rank(b) || (a.moduleId < b.moduleId ? -1 : a.moduleId > b.moduleId ? 1 : 0));
  }
}

export default defineConfig({
  test: {
    include: [
      // the kernel's own tests (issue #13), all pure: retry waits, decoding, poison, redaction, mode and state
      'test/kernel/**/*.test.ts',
      // identifiers and proof of absence (query literals: test/kernel/queries.test.ts; test/azure/queries.test.ts
      // parses every query with the Kusto parser, 10 s, so only npm test runs it)
      'test/azure/resourceId.test.ts',
      'test/azure/portIdentifier.test.ts',
      'test/converge/observe.test.ts',
      // every write and delete decision
      'test/converge/plan.test.ts',
      // mode, deletion guard, state
      'test/reconcile/pure.test.ts',
      // message decoding, poison envelopes, personal data
      'test/events/message.test.ts',
      // log redaction
      'test/log.test.ts',
      // issue #10's defect reproductions (in-process emulators)
      'test/defects/reconcile.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
    sequence: { sequencer: FastFirstSequencer },
  },
});
