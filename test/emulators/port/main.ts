/**
 * Standalone Port emulator: `npm run emulator:port -- --port 5050`. Prints its URL and serves until Ctrl+C.
 */
import { Command, InvalidArgumentError } from 'commander';
import { startPortEmulator } from './server.js';

function wholeNumber(name: string, min: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}, got "${raw}"`);
    return n;
  };
}

const program = new Command()
  .name('emulator:port')
  .description('Port (port.io) REST API emulator with an in-memory catalog. Control routes live under /_emulator.')
  .option('--port <n>', 'TCP port on 127.0.0.1 (0 = pick a free one)', wholeNumber('--port', 0), 0)
  .option('--host <host>', 'interface to listen on', '127.0.0.1')
  .option('--client-id <id>', 'accepted client id', 'emulator-client-id')
  .option('--client-secret <secret>', 'accepted client secret', 'emulator-client-secret')
  .option('--latency-ms <n>', 'fixed delay added to every API response', wholeNumber('--latency-ms', 0), 0)
  .option('--rate-limit <n>', 'requests allowed per rate-limit period', wholeNumber('--rate-limit', 1), 35_000)
  .option('--rate-limit-period <seconds>', 'rate-limit window length', wholeNumber('--rate-limit-period', 1), 300)
  .option('--token-lifetime <seconds>', 'access token lifetime', wholeNumber('--token-lifetime', 1), 10_800)
  .option('--merge-depth <depth>', '"top-level" (Port\'s documented merge) or "deep" (objects merged key by key)', 'top-level')
  .option('--no-record', 'do not keep request recordings (saves memory in long runs)');

program.parse();
const opts = program.opts<{
  port: number;
  host: string;
  clientId: string;
  clientSecret: string;
  latencyMs: number;
  rateLimit: number;
  rateLimitPeriod: number;
  tokenLifetime: number;
  record: boolean;
  mergeDepth: string;
}>();
if (opts.mergeDepth !== 'top-level' && opts.mergeDepth !== 'deep') program.error(`--merge-depth must be "top-level" or "deep", got "${opts.mergeDepth}"`);

const emulator = await startPortEmulator({
  port: opts.port,
  host: opts.host,
  clientId: opts.clientId,
  clientSecret: opts.clientSecret,
  latencyMs: opts.latencyMs,
  rateLimit: { limit: opts.rateLimit, periodSeconds: opts.rateLimitPeriod },
  tokenLifetimeSeconds: opts.tokenLifetime,
  record: opts.record,
  mergeDepth: opts.mergeDepth as 'top-level' | 'deep',
});
process.stdout.write(`Port emulator listening on ${emulator.url} (client id "${emulator.clientId}")\n`);

let closing = false;
const shutdown = () => {
  if (closing) return;
  closing = true;
  emulator.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
