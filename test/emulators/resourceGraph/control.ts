/**
 * The Resource Graph emulator's control routes (`/_emulator/…`, never under the ARM path): read and change the
 * estate, the clock, the quota, failures, lag, paging and permissions at run time. Every route is documented in
 * test/emulators/README.md. A malformed body is a 400 naming the problem and changes nothing.
 */
import type { EstateSnapshot } from './estate.js';
import { applyChanges, checkChanges } from './changes.js';
import type { Lag } from './lag.js';
import type { PagingOptions } from './paging.js';
import type { Permissions } from './permissions.js';
import type { QuotaOptions } from './server.js';

export class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What the control routes act on (a subset of the emulator, plus its internals). */
export interface ControlTarget {
  estate: { snapshot(): EstateSnapshot } & Parameters<typeof applyChanges>[0];
  stats(): Record<string, unknown>;
  setLag(lag: Partial<Lag>): void;
  lag(): Lag;
  setQuota(quota: QuotaOptions): void;
  quota(): QuotaOptions;
  setLatency(ms: number): void;
  failNext(n: number, status: number, options?: { retryAfterSeconds?: number; code?: string }): void;
  pendingFailures(): number;
  advance(ms: number): void;
  now(): Date;
  setPaging(options: PagingOptions): void;
  paging(): unknown;
  permissions: Permissions;
}

const stringList = (v: unknown, what: string): string[] => {
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new ControlError(400, `${what} must be an array of subscription ids`);
  return v as string[];
};

/** Applies one permissions body: `{readable?, revoke?, grant?, resourceGroupReaders?}`, validated first. */
function changePermissions(permissions: Permissions, body: Record<string, unknown>): void {
  const readable = body.readable === undefined || body.readable === null ? body.readable : stringList(body.readable, 'readable');
  const revoke = body.revoke === undefined ? [] : stringList(body.revoke, 'revoke');
  const grant = body.grant === undefined ? [] : stringList(body.grant, 'grant');
  const readers = (body.resourceGroupReaders ?? {}) as Record<string, unknown>;
  if (typeof readers !== 'object' || Array.isArray(readers)) {
    throw new ControlError(400, 'resourceGroupReaders must be an object: subscription id → resource group names');
  }
  for (const [s, groups] of Object.entries(readers)) {
    if (!Array.isArray(groups) || groups.length === 0 || groups.some((g) => typeof g !== 'string')) {
      throw new ControlError(400, `resourceGroupReaders.${s} must be a non-empty array of resource group names`);
    }
  }
  if (readable !== undefined) permissions.setReadable(readable ?? undefined);
  permissions.revoke(revoke);
  permissions.grant(grant);
  for (const [s, groups] of Object.entries(readers)) permissions.grantResourceGroups(s, groups as string[]);
}

export function handleControl(target: ControlTarget, method: string, route: string, body: unknown): unknown {
  if (method === 'GET') {
    switch (route) {
      case 'estate':
        return target.estate.snapshot();
      case 'stats':
        return target.stats();
      case 'lag':
        return target.lag();
      case 'paging':
        return target.paging();
      case 'permissions':
        return target.permissions.describe();
      default:
        throw new ControlError(404, `No control route GET /_emulator/${route}`);
    }
  }
  if (method !== 'POST') throw new ControlError(404, `No control route ${method} /_emulator/${route}`);
  const b = (body ?? {}) as Record<string, unknown>;
  const fail = (error: unknown): never => {
    throw new ControlError(400, error instanceof Error ? error.message : String(error));
  };
  switch (route) {
    case 'changes': {
      let changes;
      try {
        changes = checkChanges(body, 'changes');
      } catch (error) {
        return fail(error);
      }
      try {
        return { applied: changes.length, results: applyChanges(target.estate, changes) };
      } catch (error) {
        return fail(error);
      }
    }
    case 'lag':
      try {
        target.setLag(b as Partial<Lag>);
      } catch (error) {
        fail(error);
      }
      return target.lag();
    case 'paging':
      try {
        target.setPaging(b as PagingOptions);
      } catch (error) {
        fail(error);
      }
      return target.paging();
    case 'permissions':
      changePermissions(target.permissions, b);
      return target.permissions.describe();
    case 'quota': {
      const { limit, windowMs } = b as Partial<QuotaOptions>;
      if (!Number.isInteger(limit) || limit! < 0 || !Number.isInteger(windowMs) || windowMs! < 1) {
        throw new ControlError(400, `quota needs whole numbers {limit ≥ 0, windowMs ≥ 1}, got ${JSON.stringify(body)}`);
      }
      target.setQuota({ limit: limit!, windowMs: windowMs! });
      return target.quota();
    }
    case 'latency': {
      const ms = Number(b.ms ?? 0);
      if (!Number.isFinite(ms) || ms < 0) throw new ControlError(400, `latency needs {ms ≥ 0}, got ${JSON.stringify(body)}`);
      target.setLatency(ms);
      return { ms };
    }
    case 'fail':
      try {
        target.failNext(Number(b.count ?? 1), Number(b.status ?? 500), {
          ...(b.retryAfterSeconds !== undefined ? { retryAfterSeconds: Number(b.retryAfterSeconds) } : {}),
          ...(typeof b.code === 'string' ? { code: b.code } : {}),
        });
      } catch (error) {
        fail(error);
      }
      return { pending: target.pendingFailures() };
    case 'advance':
      target.advance(Number(b.ms ?? 0));
      return { now: target.now().toISOString() };
    default:
      throw new ControlError(404, `No control route POST /_emulator/${route}`);
  }
}
