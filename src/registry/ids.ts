import { randomInt } from 'node:crypto';

/** Lower-case RFC 4648 base32: no look-alike pairs like 0/O or 1/l, and safe in topics and CNs. */
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** `prefix` + `length` random base32 characters (5 bits each: 10 characters = 50 bits). */
export function randomId(prefix: string, length = 10): string {
  let id = prefix;
  for (let i = 0; i < length; i++) id += BASE32[randomInt(BASE32.length)];
  return id;
}

/**
 * A readable id from a display name ("Acme Corp." → "acme-corp"), or undefined
 * when nothing usable is left. Callers still check for collisions.
 */
export function slugify(name: string, maxLength = 40): string | undefined {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents dropped: "Café" → "cafe"
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, maxLength)
    .replace(/^-+|-+$/g, '');
  return slug.length > 0 ? slug : undefined;
}
