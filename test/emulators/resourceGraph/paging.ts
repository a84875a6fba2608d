/**
 * `$skipToken` paging, in two modes:
 * - `keyset` (default, the faithful-but-kind mode): the token names the last id served, so rows written mid-scan
 *   appear or not without duplicating or skipping rows that existed throughout;
 * - `offset`: the token is a row offset into the CURRENT result, recomputed on every page. Rows inserted before the
 *   offset between two pages make the next page repeat rows; rows deleted before it make the next page skip rows.
 *   This is what Microsoft documents for paging over a changing estate: "duplicate or missing records"
 *   (Learn governance/resource-graph/concepts/paging-results; azure-platform.md §5.3, §5.7).
 * Churn makes the estate change between pages deterministically: one-shot rules ("after page N of a query on table
 * T, apply these changes") and a seeded per-page churn (inserts and deletes after every page that has a next one).
 */
import type { ArgRow } from '../../../shared/azure/types.js';
import { prng } from '../../fixtures/estate.js';
import { applyChanges, checkChanges, type ChangeOp } from './changes.js';
import { key, type Estate } from './estate.js';
import { sortKey, type Row, type TableName } from './kql.js';
import { TABLES } from './lag.js';

export type PagingMode = 'keyset' | 'offset';

/** One-shot: right after page `afterPage` (1-based) of a query on `table` (any table when absent) is served with a next page. */
export interface ChurnRule {
  afterPage: number;
  table?: TableName;
  changes: ChangeOp[];
}

/** After every page of a `resources` query that has a next page: delete `deletes` random resources, create `inserts`. */
export interface ChurnPerPage {
  inserts?: number;
  deletes?: number;
  seed?: number;
}

export interface PagingOptions {
  mode?: PagingMode;
  /** Serve at most this many rows per page whatever `$top` asks (a small estate then spans many pages). */
  maxRowsPerPage?: number | null;
  churnPerPage?: ChurnPerPage | null;
  /** Appended to the pending one-shot rules. */
  churn?: ChurnRule[];
}

export interface PageToken {
  v: 1;
  /** Binds the token to the query and scope it was issued for. */
  h: string;
  /** totalRecords computed on the first page. */
  t: number;
  /** Pages served so far. */
  p: number;
  /** Keyset: sort key of the last row served. */
  k?: string;
  /** Offset: rows of the result served so far. */
  o?: number;
}

export const encodeToken = (token: PageToken) => Buffer.from(JSON.stringify(token)).toString('base64');

export function decodeToken(raw: string): PageToken | undefined {
  try {
    const t = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as PageToken;
    const keyset = typeof t.k === 'string' && t.o === undefined;
    const offset = Number.isInteger(t.o) && t.o! >= 0 && t.k === undefined;
    if (t.v === 1 && typeof t.h === 'string' && typeof t.t === 'number' && Number.isInteger(t.p) && (keyset || offset)) return t;
  } catch {
    // fall through
  }
  return undefined;
}

export interface PageRequest {
  /** Raw rows in `order by id` order after a sort key (streamable queries). */
  scan?: (afterKey?: string) => Iterable<Row>;
  /** Row operators applied to a raw row (streamable queries). */
  project?: (raw: Row) => Row | undefined;
  /** The whole evaluated result (queries that cannot stream). */
  rows?: () => Row[];
  /** Column of a trailing `order by`, for keyset tokens over evaluated results. */
  orderColumn?: string;
  token: PageToken | undefined;
  size: number;
  mode: PagingMode;
  binding: string;
}

/** One page: rows, total, and the token of the next page (undefined on the last one). */
export function servePage(req: PageRequest): { page: Row[]; total: number; next?: PageToken } {
  const mode: PagingMode = req.token ? (req.token.o !== undefined ? 'offset' : 'keyset') : req.mode;
  const pages = (req.token?.p ?? 0) + 1;
  const page: Row[] = [];
  let total: number;
  let more = false;
  let lastKey = '';
  if (req.scan && req.project) {
    const project = req.project;
    if (req.token) total = req.token.t;
    else {
      total = 0;
      for (const raw of req.scan()) if (project(raw)) total++;
    }
    let skip = mode === 'offset' ? (req.token?.o ?? 0) : 0;
    for (const raw of req.scan(mode === 'keyset' ? req.token?.k : undefined)) {
      const row = project(raw);
      if (!row) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      if (page.length === req.size) {
        more = true;
        break;
      }
      page.push(row);
      lastKey = key(String(raw.id));
    }
  } else {
    const rows = req.rows!();
    total = req.token ? req.token.t : rows.length;
    let start = 0;
    if (req.token?.o !== undefined) start = req.token.o;
    else if (req.token?.k !== undefined) {
      if (req.orderColumn) while (start < rows.length && sortKey(rows[start]![req.orderColumn]) <= req.token.k) start++;
      else start = Number(req.token.k);
    }
    page.push(...rows.slice(start, start + req.size));
    more = start + req.size < rows.length;
    lastKey = req.orderColumn ? sortKey(page[page.length - 1]?.[req.orderColumn]) : String(start + page.length);
  }
  if (!more) return { page, total };
  const next: PageToken =
    mode === 'offset'
      ? { v: 1, h: req.binding, t: total, p: pages, o: (req.token?.o ?? 0) + page.length }
      : { v: 1, h: req.binding, t: total, p: pages, k: lastKey };
  return { page, total, next };
}

const wholeAtLeast = (v: unknown, min: number) => Number.isInteger(v) && (v as number) >= min;

export class Paging {
  mode: PagingMode = 'keyset';
  maxRowsPerPage: number | undefined;
  private perPage: (ChurnPerPage & { random: () => number; serial: number }) | undefined;
  private readonly rules: ChurnRule[] = [];

  /** Validates everything first, then applies: a bad body changes nothing. Throws an Error naming the problem. */
  set(options: PagingOptions): void {
    if (options.mode !== undefined && options.mode !== 'keyset' && options.mode !== 'offset') {
      throw new Error(`paging mode must be "keyset" or "offset", got ${JSON.stringify(options.mode)}`);
    }
    const max = options.maxRowsPerPage;
    if (max !== undefined && max !== null && !wholeAtLeast(max, 1)) throw new Error(`maxRowsPerPage must be a whole number ≥ 1, got ${JSON.stringify(max)}`);
    const per = options.churnPerPage;
    if (per) {
      for (const f of ['inserts', 'deletes'] as const) {
        if (per[f] !== undefined && !wholeAtLeast(per[f], 0)) throw new Error(`churnPerPage.${f} must be a whole number ≥ 0, got ${JSON.stringify(per[f])}`);
      }
      if (per.seed !== undefined && !Number.isInteger(per.seed)) throw new Error(`churnPerPage.seed must be an integer, got ${JSON.stringify(per.seed)}`);
    }
    if (options.churn !== undefined && !Array.isArray(options.churn)) throw new Error('churn must be an array of {afterPage, table?, changes}');
    for (const [i, rule] of (options.churn ?? []).entries()) {
      if (!rule || !wholeAtLeast(rule.afterPage, 1)) throw new Error(`churn[${i}].afterPage must be a whole number ≥ 1`);
      if (rule.table !== undefined && !TABLES.includes(rule.table)) throw new Error(`churn[${i}].table must be one of ${TABLES.join(', ')}`);
      checkChanges(rule.changes, `churn[${i}].changes`);
    }
    if (options.mode) this.mode = options.mode;
    if (max !== undefined) this.maxRowsPerPage = max ?? undefined;
    if (per !== undefined) this.perPage = per ? { ...per, random: prng(per.seed ?? 1), serial: 0 } : undefined;
    this.rules.push(...(options.churn ?? []));
  }

  pageSize(top: number): number {
    return Math.min(top, this.maxRowsPerPage ?? top);
  }

  /** Right after page `page` of a query on `table` was computed and a next page exists: the estate changes. */
  afterPage(estate: Estate, table: TableName, page: number): void {
    for (let i = 0; i < this.rules.length; ) {
      const rule = this.rules[i]!;
      if (rule.afterPage === page && (rule.table === undefined || rule.table === table)) {
        this.rules.splice(i, 1);
        applyChanges(estate, rule.changes);
      } else i++;
    }
    if (this.perPage && table === 'resources') this.randomChurn(estate, this.perPage);
  }

  private randomChurn(estate: Estate, per: NonNullable<Paging['perPage']>): void {
    const { resources, resourceGroups } = estate.snapshot();
    const pick = <T>(list: T[]): T | undefined => list[Math.floor(per.random() * list.length)];
    for (let i = 0; i < (per.deletes ?? 0) && resources.length > 0; i++) {
      const victim = resources.splice(Math.floor(per.random() * resources.length), 1)[0]!;
      estate.deleteResource(victim.id);
    }
    for (let i = 0; i < (per.inserts ?? 0); i++) {
      const group: ArgRow | undefined = pick(resourceGroups);
      if (!group) break;
      const name = `churn-${Math.floor(per.random() * 0xffffff).toString(16).padStart(6, '0')}-${++per.serial}`;
      estate.upsertResource({ id: `${group.id}/providers/Microsoft.Web/sites/${name}`, location: group.location ?? 'westeurope' });
    }
  }

  describe(): { mode: PagingMode; maxRowsPerPage: number | null; churnPerPage: ChurnPerPage | null; pendingChurn: ChurnRule[] } {
    const per = this.perPage;
    return {
      mode: this.mode,
      maxRowsPerPage: this.maxRowsPerPage ?? null,
      churnPerPage: per ? { inserts: per.inserts ?? 0, deletes: per.deletes ?? 0, seed: per.seed ?? 1 } : null,
      pendingChurn: [...this.rules],
    };
  }
}
