/**
 * Runs the application side of a scenario in a child process, so its peak RSS is the application's alone
 * (the emulators and Azurite stay in the parent / their own processes).
 *
 * The child is this folder's app.ts (or app.js when running compiled): it receives one job over IPC, runs it,
 * and answers with the time it took and `process.resourceUsage().maxRSS`.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { AppJob, AppResult } from './jobs.js';
import { REPO_ROOT } from './paths.js';

/** 'dist': the compiled application (what production runs; npm run bench builds first). 'source': via tsx (tests). */
export type AppRuntime = 'dist' | 'source';

export interface ChildOptions {
  runtime: AppRuntime;
  /** Extra node flags for the child, e.g. --cpu-prof. */
  execArgv?: string[];
  /** Kill the child if it has not answered in time. */
  timeoutMs?: number;
  /** Forward the child's stderr (its logs) to ours. */
  verbose?: boolean;
}

export async function runInChild<R extends AppResult>(job: AppJob, options: ChildOptions): Promise<R> {
  const fromSource = options.runtime === 'source';
  const entry = fromSource ? path.join(REPO_ROOT, 'test', 'bench', 'app.ts') : path.join(REPO_ROOT, 'dist-bench', 'test', 'bench', 'app.js');
  if (!existsSync(entry)) throw new Error(`bench: ${entry} is missing${fromSource ? '' : ' (compile it with tsc -p tsconfig.bench.json; npm run bench does)'}`);
  const execArgv = [...(fromSource ? ['--import', 'tsx'] : []), ...(options.execArgv ?? [])];
  const child = fork(entry, [], {
    execArgv,
    stdio: ['ignore', options.verbose ? 'inherit' : 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (options.verbose) process.stderr.write(chunk);
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  return new Promise<R>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      reject(new Error(`bench child for ${job.kind} did not finish within ${options.timeoutMs} ms\n${stderr}`));
    }, options.timeoutMs ?? 30 * 60_000);
    child.on('message', (message: { ok: true; result: R } | { ok: false; error: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (message.ok) resolve(message.result);
      else reject(new Error(`bench child for ${job.kind} failed: ${message.error}\n${stderr}`));
      child.disconnect();
    });
    child.on('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`bench child for ${job.kind} exited (${code ?? signal}) without a result\n${stderr}`));
    });
    child.send(job);
  });
}
