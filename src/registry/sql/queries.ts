/**
 * The WHERE clauses of listDevices and queryAudit, written once with `?`
 * placeholders; the PostgreSQL store renumbers them ($1, $2, …). The few
 * expressions that differ between the dialects come in as `SqlDialect`.
 */
import type { AuditQuery, DeviceQuery } from '../store.js';

export interface SqlDialect {
  /** A condition on a device row: its tags (JSON array) contain the string bound to `?`. */
  hasTag: string;
  /** The value bound for `hasTag`. */
  tagParam(tag: string): unknown;
  /** Case-insensitive LIKE (SQLite's LIKE ignores ASCII case; PostgreSQL needs ILIKE). */
  ilike: 'LIKE' | 'ILIKE';
  /** How a boolean is bound. */
  bool(value: boolean): unknown;
}

export interface Where {
  /** '' or ' WHERE …'. */
  sql: string;
  params: unknown[];
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** Default 100, at most 1000, never negative. */
export function pageLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_LIMIT;
  return Math.max(0, Math.min(MAX_LIMIT, Math.floor(limit)));
}

export function pageOffset(offset: number | undefined): number {
  if (offset === undefined || !Number.isFinite(offset)) return 0;
  return Math.max(0, Math.floor(offset));
}

/** A LIKE pattern matching `text` anywhere, with LIKE's own wildcards taken literally. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function where(conditions: string[], params: unknown[]): Where {
  return { sql: conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '', params };
}

export function deviceWhere(q: DeviceQuery, d: SqlDialect): Where {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, ...values: unknown[]) => (conditions.push(sql), params.push(...values));
  if (q.tenantId !== undefined) add('tenant_id = ?', q.tenantId);
  if (q.profileId !== undefined) add('profile_id = ?', q.profileId);
  if (q.active !== undefined) add('active = ?', d.bool(q.active));
  if (q.type !== undefined) add('type = ?', q.type);
  if (q.tag !== undefined) add(d.hasTag, d.tagParam(q.tag));
  if (q.search) {
    const like = `${d.ilike} ? ESCAPE '\\'`;
    const pattern = containsPattern(q.search);
    add(`(id ${like} OR name ${like} OR serial ${like})`, pattern, pattern, pattern);
  }
  return where(conditions, params);
}

export function auditWhere(q: AuditQuery): Where {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, ...values: unknown[]) => (conditions.push(sql), params.push(...values));
  if (q.tenantId !== undefined) add('tenant_id = ?', q.tenantId);
  if (q.actor !== undefined) add('actor = ?', q.actor);
  if (q.action !== undefined) {
    // Compared exactly (LIKE would ignore case in SQLite); lengths in code points, as substr counts.
    if (q.action.endsWith('.')) add('substr(action, 1, ?) = ?', [...q.action].length, q.action);
    else add('action = ?', q.action);
  }
  if (q.target !== undefined) add('target = ?', q.target);
  if (q.outcome !== undefined) add('outcome = ?', q.outcome);
  if (q.since !== undefined) add('at >= ?', q.since);
  if (q.until !== undefined) add('at < ?', q.until);
  if (q.beforeId !== undefined) add('id < ?', q.beforeId);
  return where(conditions, params);
}
