/**
 * What the telemetry routes accept and return. Query strings name their field
 * when they are wrong (`query.from`, `query.bucket`), like the rest of /api.
 */
import { z } from 'zod';
import { TELEMETRY_LIMITS } from '../../telemetry/model.js';
import { parseIsoDate } from '../../telemetry/payload.js';

export const DAY_MS = 86_400_000;
export const MAX_BUCKETS = 100_000;

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS };

const keyList = z
  .string()
  .max(16_384)
  .transform((s, ctx) => {
    const keys = [...new Set(s.split(',').map((k) => k.trim()))].filter((k) => k !== '');
    const long = keys.find((k) => k.length > TELEMETRY_LIMITS.maxKeyLength);
    if (long !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `a key must be at most ${TELEMETRY_LIMITS.maxKeyLength} characters`,
      });
      return z.NEVER;
    }
    return keys;
  })
  .describe('comma-separated keys; omitted = every key of the device');

/** ms since the epoch (digits) or an ISO 8601 date. */
const instant = z
  .string()
  .transform((s, ctx) => {
    const ms = /^\d{1,16}$/.test(s) ? Number(s) : parseIsoDate(s);
    if (!Number.isFinite(ms) || ms > 8.64e15) {
      ctx.addIssue({ code: 'custom', message: 'must be ms since the epoch or an ISO 8601 date' });
      return z.NEVER;
    }
    return ms;
  })
  .describe('ms since the epoch, or an ISO 8601 date (2024-05-01T12:00:00Z)');

const format = z.enum(['json', 'csv']).optional().describe('default json');

export const TelemetryKeysQuery = z.object({ keys: keyList.optional() });

export const TelemetryRangeQuery = z.object({
  keys: keyList.optional(),
  from: instant.optional().describe('inclusive; default `to` − 24 h'),
  to: instant.optional().describe('exclusive; default now'),
  limit: z.coerce.number().int().min(1).max(100_000).optional().describe('default 1000'),
  order: z.enum(['asc', 'desc']).optional().describe('by time; default asc'),
  cursor: z.string().max(1000).optional().describe('`next` of the previous page'),
  format,
});

export const TelemetryAggregateQuery = z.object({
  keys: keyList.optional(),
  from: instant.optional().describe('inclusive; default `to` − 24 h'),
  to: instant.optional().describe('exclusive; default now'),
  bucket: z
    .string()
    .transform((s, ctx) => {
      const match = /^(\d{1,15})(s|m|h|d|w)?$/.exec(s);
      const ms = match ? Number(match[1]) * (match[2] ? UNIT_MS[match[2]] : 1) : NaN;
      if (!(ms >= 1000)) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be ms (≥ 1000) or a duration such as 30s, 5m, 1h, 1d, 1w',
        });
        return z.NEVER;
      }
      return ms;
    })
    .optional()
    .describe('bucket size: ms, or 30s, 5m, 1h, 1d, 1w; default 1h'),
  fn: z
    .enum(['avg', 'min', 'max', 'sum', 'count', 'median', 'first', 'last'])
    .optional()
    .describe('default avg'),
  format,
});

const value = z.union([z.number(), z.boolean(), z.string()]);
const ms = z.number().int().describe('milliseconds since the epoch');

export const LatestDto = z
  .record(z.string(), z.object({ ts: ms, value }))
  .describe('the latest value of each key');

export const PointsDto = z.object({
  points: z.array(z.object({ ts: ms, key: z.string(), value })),
  next: z.string().optional().describe('pass as `cursor` for the next page; absent on the last page'),
});

export const BucketsDto = z.object({
  fn: z.string(),
  bucketMs: z.number().int(),
  buckets: z.array(
    z.object({
      key: z.string(),
      ts: ms.describe('start of the bucket'),
      value: value.nullable().describe('null when the bucket has no numeric value for this function'),
      count: z.number().int().describe('points in the bucket'),
    }),
  ),
});

export const KeysDto = z.object({ keys: z.array(z.string()) });

export const AcceptedDto = z.object({
  accepted: z.number().int().describe('points stored (durable) by this request'),
  clamped: z.number().int().describe('device timestamps outside the allowed skew, replaced by server time'),
});

export const TelemetryBody = z
  .union([
    z.record(z.string(), value),
    z.object({ ts: z.union([ms, z.string()]).optional(), values: z.record(z.string(), value) }),
    z.array(z.unknown()),
  ])
  .describe('{"key": value}, {"ts": ms | ISO, "values": {…}}, or an array of either (docs/telemetry.md)');
