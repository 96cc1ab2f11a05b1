/**
 * Reading a device's telemetry: latest values, raw points (paged), time-bucketed
 * aggregates and the keys it has, as JSON or CSV. The registry decides whether the
 * caller may see the device (another tenant's device is a 404).
 */
import type { FastifyReply } from 'fastify';
import { HalyardError } from '../../core/errors.js';
import type { TelemetryValue } from '../../telemetry/model.js';
import type { ApiApp } from '../api-app.js';
import { actorOf } from '../authenticate.js';
import { errorResponses } from '../http-errors.js';
import { IdParams } from '../inputs.js';
import type { TelemetryApiOptions } from '../telemetry-api.js';
import {
  BucketsDto,
  DAY_MS,
  KeysDto,
  LatestDto,
  MAX_BUCKETS,
  PointsDto,
  TelemetryAggregateQuery,
  TelemetryKeysQuery,
  TelemetryRangeQuery,
} from './telemetry-inputs.js';

const tags = ['telemetry'];
const CSV_NOTE = ' With format=csv: text/csv instead of JSON.';
export const NEXT_CURSOR_HEADER = 'x-next-cursor';

export function registerTelemetryQueryRoutes(app: ApiApp, opts: TelemetryApiOptions): void {
  const { registry, store } = opts;
  const now = opts.now ?? Date.now;
  app.get(
    '/devices/:id/telemetry/latest',
    {
      schema: {
        summary: 'The latest value of each key of a device',
        tags,
        params: IdParams,
        querystring: TelemetryKeysQuery,
        response: { 200: LatestDto, ...errorResponses() },
      },
    },
    async (request) => {
      const seriesId = (await registry.getDevice(actorOf(request), request.params.id)).id;
      const latest = await store.latest(seriesId, request.query.keys);
      return Object.fromEntries(latest.map((l) => [l.key, { ts: l.ts, value: l.value }]));
    },
  );

  app.get(
    '/devices/:id/telemetry/keys',
    {
      schema: {
        summary: 'The keys a device has sent',
        tags,
        params: IdParams,
        response: { 200: KeysDto, ...errorResponses() },
      },
    },
    async (request) => {
      const seriesId = (await registry.getDevice(actorOf(request), request.params.id)).id;
      return { keys: await store.keys(seriesId) };
    },
  );

  app.get(
    '/devices/:id/telemetry',
    {
      schema: {
        summary: 'Raw points of a device in a time range, paged.' + CSV_NOTE,
        tags,
        params: IdParams,
        querystring: TelemetryRangeQuery,
        response: { 200: PointsDto, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const seriesId = (await registry.getDevice(actorOf(request), request.params.id)).id;
      const q = request.query;
      const { from, to } = range(q.from, q.to, now());
      const page = await store.query({
        seriesId,
        keys: q.keys,
        from,
        to,
        limit: q.limit ?? 1000,
        order: q.order ?? 'asc',
        cursor: q.cursor,
      });
      const points = page.points.map((p) => ({ ts: p.ts, key: p.key, value: p.value }));
      if (q.format === 'csv') {
        if (page.next !== undefined) void reply.header(NEXT_CURSOR_HEADER, page.next);
        return sendCsv(
          reply,
          ['ts', 'key', 'value'],
          points.map((p) => [iso(p.ts), p.key, p.value]),
        );
      }
      return page.next === undefined ? { points } : { points, next: page.next };
    },
  );

  app.get(
    '/devices/:id/telemetry/aggregate',
    {
      schema: {
        summary: 'Time-bucketed aggregates of a device’s keys.' + CSV_NOTE,
        tags,
        params: IdParams,
        querystring: TelemetryAggregateQuery,
        response: { 200: BucketsDto, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const seriesId = (await registry.getDevice(actorOf(request), request.params.id)).id;
      const q = request.query;
      const { from, to } = range(q.from, q.to, now());
      const bucketMs = q.bucket ?? 3_600_000;
      if ((to - from) / bucketMs > MAX_BUCKETS) {
        throw new HalyardError(
          'INVALID_INPUT',
          `query.bucket: at most ${MAX_BUCKETS} buckets per key; choose a larger bucket or a shorter range`,
          { field: 'query.bucket' },
        );
      }
      const fn = q.fn ?? 'avg';
      const keys = q.keys !== undefined && q.keys.length > 0 ? q.keys : await store.keys(seriesId);
      const buckets =
        keys.length === 0 ? [] : await store.aggregate({ seriesId, keys, from, to, bucketMs, fn });
      if (q.format === 'csv') {
        return sendCsv(
          reply,
          ['ts', 'key', 'value', 'count'],
          buckets.map((b) => [iso(b.ts), b.key, b.value, b.count]),
        );
      }
      return {
        fn,
        bucketMs,
        buckets: buckets.map((b) => ({ key: b.key, ts: b.ts, value: b.value, count: b.count })),
      };
    },
  );
}

/** The range asked for, defaulting to the last 24 hours; an empty or inverted range names `from`. */
function range(from: number | undefined, to: number | undefined, now: number): { from: number; to: number } {
  const end = to ?? now;
  const start = from ?? end - DAY_MS;
  if (start >= end) {
    throw new HalyardError('INVALID_INPUT', 'query.from: must be before `to`', { field: 'query.from' });
  }
  return { from: start, to: end };
}

function iso(ts: number): string {
  return new Date(ts).toISOString();
}

type Cell = TelemetryValue | null;

/** RFC 4180: a cell with a comma, quote or line break is quoted, quotes doubled; null is empty. */
export function csvCell(value: Cell): string {
  if (value === null) return '';
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function sendCsv(reply: FastifyReply, header: string[], rows: Cell[][]): FastifyReply {
  const lines = [header.join(','), ...rows.map((row) => row.map(csvCell).join(','))];
  return reply.type('text/csv; charset=utf-8').send(`${lines.join('\r\n')}\r\n`);
}
