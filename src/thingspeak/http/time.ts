/**
 * ThingSpeak's time handling (reference §6 "Time handling"): UTC by default,
 * an IANA `timezone` or an hour `offset` per request; timestamps written with
 * a `Z` or the zone's offset, and created_at/start/end parsed in that zone.
 */

/** A request's time zone: an IANA name, a fixed offset in minutes, or UTC. */
export type Zone = { kind: 'utc' } | { kind: 'iana'; name: string } | { kind: 'fixed'; minutes: number };

export const UTC: Zone = { kind: 'utc' };

const formatters = new Map<string, Intl.DateTimeFormat>();

function validZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** `timezone` wins over `offset` (reference: "offset is ignored"); unknown names fall back to UTC. */
export function requestZone(timezone: string | undefined, offset: string | undefined): Zone {
  if (timezone && validZone(timezone)) return { kind: 'iana', name: timezone };
  const hours = offset === undefined || offset === '' ? NaN : Number(offset);
  if (Number.isFinite(hours) && Math.abs(hours) <= 14)
    return { kind: 'fixed', minutes: Math.round(hours * 60) };
  return UTC;
}

/** Minutes east of UTC of this zone at this instant. */
export function offsetMinutes(zone: Zone, at: number): number {
  if (zone.kind === 'utc') return 0;
  if (zone.kind === 'fixed') return zone.minutes;
  let fmt = formatters.get(zone.name);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: zone.name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone.name, fmt);
  }
  const p: Record<string, number> = {};
  for (const part of fmt.formatToParts(new Date(at))) p[part.type] = Number(part.value);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return Math.round((wall - Math.floor(at / 1000) * 1000) / 60_000);
}

const pad = (n: number, w = 2): string => String(Math.abs(n)).padStart(w, '0');

function wallParts(at: number, zone: Zone): { date: string; time: string; off: number } {
  const off = offsetMinutes(zone, at);
  const d = new Date(at + off * 60_000);
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return { date, time, off };
}

/** `2018-09-10T17:41:59Z`, or `2018-09-10T12:41:59-05:00` in another zone. */
export function isoTime(at: number, zone: Zone = UTC): string {
  const { date, time, off } = wallParts(at, zone);
  if (zone.kind === 'utc') return `${date}T${time}Z`;
  return `${date}T${time}${off < 0 ? '-' : '+'}${pad(Math.trunc(off / 60))}:${pad(off % 60)}`;
}

/** CSV form: `2014-02-26 21:27:21 UTC`, or `2014-02-26 16:27:21 -0500` in another zone. */
export function csvTime(at: number, zone: Zone = UTC): string {
  const { date, time, off } = wallParts(at, zone);
  if (zone.kind === 'utc') return `${date} ${time} UTC`;
  return `${date} ${time} ${off < 0 ? '-' : '+'}${pad(Math.trunc(off / 60))}${pad(off % 60)}`;
}

const TIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?\s*(Z|UTC|[+\- ]\d{2}(?::?\d{2})?)?$/i;

/**
 * Parses `YYYY-MM-DD HH:NN:SS`, ISO 8601 and MySQL forms; without an explicit
 * offset the time is in `zone`. A space where the offset sign should be is a
 * `+` that arrived unencoded (the Arduino library does not encode created_at).
 * Epoch seconds are accepted when `epoch` is set (bulk updates). Returns ms or
 * undefined when the text is not a time.
 */
export function parseTime(text: string, zone: Zone, epoch = false): number | undefined {
  const s = text.trim();
  if (epoch && /^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const m = TIME_RE.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', tz] = m;
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec), ms);
  if (Number.isNaN(wall) || Number(mo) > 12 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59)
    return undefined;
  if (tz !== undefined) {
    if (/^(Z|UTC)$/i.test(tz)) return wall;
    const sign = tz[0] === '-' ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    const off = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
    return wall - sign * off * 60_000;
  }
  // Two passes settle the offset across a DST change.
  let guess = wall - offsetMinutes(zone, wall) * 60_000;
  guess = wall - offsetMinutes(zone, guess) * 60_000;
  return guess;
}
