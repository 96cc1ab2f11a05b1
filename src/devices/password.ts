import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashes as self-describing strings:
 *   $scrypt$N=16384,r=8,p=1$<salt base64>$<hash base64>
 * The parameters travel with the hash so that they can be raised later
 * without invalidating stored credentials.
 */

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { N: 16384, r: 8, p: 1 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Caps on parameters read from a hash, so that a bad config line cannot make one login eat gigabytes. */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

const FORMAT = /^\$scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+=*)\$([A-Za-z0-9+/]+=*)$/;

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

function derive(
  password: string | Buffer,
  salt: Buffer,
  length: number,
  { N, r, p }: ScryptParams,
): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; the default maxmem (32 MiB) would refuse larger legitimate parameters.
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, length, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const b64 = (buf: Buffer) => buf.toString('base64').replace(/=+$/, '');

export async function hashPassword(
  password: string | Buffer,
  params: ScryptParams = DEFAULT_SCRYPT_PARAMS,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, KEY_BYTES, params);
  return `$scrypt$N=${params.N},r=${params.r},p=${params.p}$${b64(salt)}$${b64(hash)}`;
}

/** Undefined for anything that is not a well-formed hash with sane parameters. */
export function parsePasswordHash(encoded: string): ParsedHash | undefined {
  const m = FORMAT.exec(encoded);
  if (!m) return undefined;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const powerOfTwo = N > 1 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N > MAX_N || r < 1 || r > MAX_R || p < 1 || p > MAX_P) return undefined;
  const salt = Buffer.from(m[4], 'base64');
  const hash = Buffer.from(m[5], 'base64');
  if (salt.length < 8 || hash.length < 16) return undefined;
  return { params: { N, r, p }, salt, hash };
}

/**
 * Stands in for a missing user or a malformed hash, so that the answer takes as
 * long as a real check and response time does not reveal which usernames exist.
 */
const DUMMY: ParsedHash = {
  params: DEFAULT_SCRYPT_PARAMS,
  salt: Buffer.alloc(SALT_BYTES, 0x5a),
  hash: Buffer.alloc(KEY_BYTES, 0),
};

/** Constant-time comparison; false (after the same work) when `encoded` is undefined or malformed. */
export async function verifyPassword(
  password: string | Buffer,
  encoded: string | undefined,
): Promise<boolean> {
  const parsed = encoded === undefined ? undefined : parsePasswordHash(encoded);
  const target = parsed ?? DUMMY;
  const candidate = await derive(password, target.salt, target.hash.length, target.params);
  const equal = timingSafeEqual(candidate, target.hash);
  return parsed !== undefined && equal;
}
