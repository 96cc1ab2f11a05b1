/**
 * A device's telemetry message → data points. Pure: no clock, no I/O, never
 * throws (whatever the bytes); a refused message says why and names the field,
 * so MQTT (PUBACK reason string) and HTTP (400 `field`) can tell the device.
 *
 * Accepted (docs/telemetry.md):
 * - `{"temperature": 21.5, "door": "open", "on": true}` (server time);
 * - `{"ts": 1700000000000 | "2023-11-14T22:13:20Z", "values": {…}}`;
 * - an array of either;
 * - ThingSpeak form `field1=21.5&field2=3&status=ok`.
 */
import { TELEMETRY_LIMITS, type DataPoint, type TelemetryValue } from './model.js';

export interface PayloadContext {
  tenantId: string;
  seriesId: string;
  /** Server time, ms: used when the device gives none, or one too far off. */
  now: number;
  /** A device timestamp more than this far from `now` is replaced by `now`. */
  maxSkewMs: number;
}

export type ParseResult =
  | {
      ok: true;
      points: DataPoint[];
      /** How many device timestamps were outside the skew and replaced by server time. */
      clamped: number;
    }
  | { ok: false; reason: string; field?: string };

export type FormResult =
  | { ok: true; values: Array<[key: string, value: TelemetryValue]> }
  | { ok: false; reason: string; field?: string };

type Failure = { ok: false; reason: string; field?: string };

const fail = (reason: string, field?: string): Failure =>
  field === undefined ? { ok: false, reason } : { ok: false, reason, field };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A plain decimal number as ThingSpeak devices send them; "NaN", "Infinity", "0x10" stay strings. */
const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Largest timestamp a JS Date can hold. */
const MAX_TS = 8.64e15;

export function parseTelemetry(payload: Buffer | string, ctx: PayloadContext): ParseResult {
  let text: string;
  if (typeof payload === 'string') text = payload;
  else {
    try {
      text = utf8.decode(payload);
    } catch {
      return fail('the payload is not valid UTF-8');
    }
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const trimmed = text.trim();
  if (trimmed === '') return fail('the payload is empty');

  const first = trimmed[0];
  if (first !== '{' && first !== '[' && first !== '"' && trimmed.includes('=')) {
    const form = parseThingSpeakForm(trimmed);
    if (!form.ok) return form;
    const builder = new PointBuilder(ctx);
    const problem = builder.addAll(form.values, ctx.now, '');
    return problem ?? builder.result();
  }

  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch (err) {
    return fail(`invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseJson(json, ctx);
}

function parseJson(json: unknown, ctx: PayloadContext): ParseResult {
  const builder = new PointBuilder(ctx);
  if (Array.isArray(json)) {
    if (json.length > TELEMETRY_LIMITS.maxPointsPerMessage) return tooManyPoints();
    for (let i = 0; i < json.length; i++) {
      const problem = addEntry(builder, json[i], `[${i}]`);
      if (problem) return problem;
    }
  } else {
    const problem = addEntry(builder, json, '');
    if (problem) return problem;
  }
  return builder.result();
}

function addEntry(builder: PointBuilder, entry: unknown, path: string): Failure | undefined {
  if (!isObject(entry)) {
    return fail(
      `${path === '' ? 'the payload' : path} must be a JSON object of key → value, or {"ts": …, "values": {…}}`,
      path === '' ? undefined : path,
    );
  }
  if (!Object.hasOwn(entry, 'values')) {
    if (Object.hasOwn(entry, 'ts')) {
      return fail('"ts" needs "values": send {"ts": …, "values": {"key": value}}', join(path, 'ts'));
    }
    return builder.addAll(Object.entries(entry), builder.now, path);
  }
  for (const key of Object.keys(entry)) {
    if (key !== 'ts' && key !== 'values') {
      return fail(`unexpected key "${key}" beside "ts" and "values"`, join(path, key));
    }
  }
  const values = entry.values;
  const valuesPath = join(path, 'values');
  if (!isObject(values)) return fail('"values" must be an object of key → value', valuesPath);
  let ts = builder.now;
  if (entry.ts !== undefined) {
    const parsed = parseTimestamp(entry.ts);
    if (typeof parsed === 'string') return fail(parsed, join(path, 'ts'));
    ts = builder.clamp(parsed);
  }
  return builder.addAll(Object.entries(values), ts, valuesPath);
}

/** ms since the epoch, or why not. Numbers are ms (not seconds); strings are ISO 8601 or digits. */
export function parseTimestamp(ts: unknown): number | string {
  let ms: number;
  if (typeof ts === 'number') ms = ts;
  else if (typeof ts === 'string') {
    if (/^\d{1,16}$/.test(ts)) ms = Number(ts);
    else if (ISO_DATE.test(ts)) {
      ms = parseIsoDate(ts);
      if (Number.isNaN(ms)) return `"${truncate(ts)}" is not a valid date`;
    } else return `"${truncate(ts)}" is neither ms since the epoch nor an ISO 8601 date`;
  } else return 'a timestamp must be ms since the epoch (number) or an ISO 8601 string';
  if (!Number.isFinite(ms)) return 'a timestamp must be a finite number';
  if (ms <= 0) return 'a timestamp must be after 1970-01-01 (positive ms)';
  if (ms > MAX_TS) return 'the timestamp is out of range';
  return Math.floor(ms);
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** An ISO 8601 date or date-time as ms, NaN when it is not one. Without an offset it is UTC (never the server's zone). */
export function parseIsoDate(s: string): number {
  const match = ISO_DATE.exec(s);
  if (!match) return NaN;
  const zoned = match[1] === undefined || match[4] !== undefined ? s : `${s}Z`;
  return Date.parse(zoned.replace(' ', 'T'));
}

/**
 * ThingSpeak's `application/x-www-form-urlencoded` form: `key=value` pairs joined
 * by `&` (empty pairs, such as a leading `&`, are skipped), `+` is a space. A value
 * that is a plain decimal number becomes a number; everything else stays a string.
 * An empty value (`field3=`) is skipped, as ThingSpeak does.
 */
export function parseThingSpeakForm(text: string): FormResult {
  const values: Array<[string, TelemetryValue]> = [];
  const seen = new Set<string>();
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const key = decodeForm(rawKey);
    if (key === undefined) return fail(`"${truncate(rawKey)}" is not valid URL encoding`, truncate(rawKey));
    if (eq < 0) return fail(`"${truncate(key)}" has no value: expected key=value`, truncate(key));
    const raw = decodeForm(pair.slice(eq + 1));
    if (raw === undefined) return fail(`the value of "${truncate(key)}" is not valid URL encoding`, key);
    if (seen.has(key)) return fail(`"${truncate(key)}" is given twice`, truncate(key));
    seen.add(key);
    if (raw === '') continue;
    const number = NUMERIC.test(raw) ? Number(raw) : NaN;
    values.push([key, Number.isFinite(number) ? number : raw]);
  }
  return { ok: true, values };
}

function decodeForm(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

class PointBuilder {
  readonly points: DataPoint[] = [];
  private readonly keys = new Set<string>();
  private clamped = 0;

  constructor(private readonly ctx: PayloadContext) {}

  get now(): number {
    return this.ctx.now;
  }

  clamp(ts: number): number {
    if (Math.abs(ts - this.ctx.now) <= this.ctx.maxSkewMs) return ts;
    this.clamped++;
    return this.ctx.now;
  }

  addAll(entries: Array<[string, unknown]>, ts: number, path: string): Failure | undefined {
    for (const [key, raw] of entries) {
      const field = join(path, key);
      if (key.length === 0) return fail('a key must not be empty', field);
      if (key.length > TELEMETRY_LIMITS.maxKeyLength) {
        return fail(
          `a key must be at most ${TELEMETRY_LIMITS.maxKeyLength} characters`,
          join(path, truncate(key)),
        );
      }
      const value = valueOf(raw);
      if (typeof value === 'object') return fail(value.problem, field);
      if (!this.keys.has(key)) {
        if (this.keys.size >= TELEMETRY_LIMITS.maxKeysPerMessage) {
          return fail(
            `a message may carry at most ${TELEMETRY_LIMITS.maxKeysPerMessage} distinct keys`,
            field,
          );
        }
        this.keys.add(key);
      }
      if (this.points.length >= TELEMETRY_LIMITS.maxPointsPerMessage) return tooManyPoints();
      this.points.push({ tenantId: this.ctx.tenantId, seriesId: this.ctx.seriesId, key, ts, value });
    }
    return undefined;
  }

  result(): ParseResult {
    return { ok: true, points: this.points, clamped: this.clamped };
  }
}

function valueOf(raw: unknown): TelemetryValue | { problem: string } {
  switch (typeof raw) {
    case 'number':
      // JSON.parse turns 1e999 into Infinity: refuse rather than store something else.
      return Number.isFinite(raw) ? raw : { problem: 'a number must be finite' };
    case 'boolean':
      return raw;
    case 'string':
      return raw.length <= TELEMETRY_LIMITS.maxStringValueLength
        ? raw
        : { problem: `a string value must be at most ${TELEMETRY_LIMITS.maxStringValueLength} characters` };
    default:
      if (raw === null) return { problem: 'null is not a value: leave the key out instead' };
      if (Array.isArray(raw)) return { problem: 'arrays are not values: send one key per value' };
      return { problem: 'nested objects are not values: flatten them ("a.b": 1)' };
  }
}

function tooManyPoints(): Failure {
  return fail(`a message may carry at most ${TELEMETRY_LIMITS.maxPointsPerMessage} points`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
