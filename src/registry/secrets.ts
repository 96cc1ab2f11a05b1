/**
 * Secrets of the registry: tokens, generated passwords, HMAC secrets and the
 * server key that seals them.
 *
 * - Tokens are 32 random bytes (base64url) behind a readable prefix, so a leaked
 *   string says what it is: `hd_` device token, `hu_` API token, `hs_` session.
 *   They are stored as SHA-256: with 256 bits of entropy nothing can be guessed,
 *   so a slow hash would buy nothing, and a deterministic hash lets a login find
 *   the record by an indexed lookup instead of trying every row.
 * - HMAC secrets must be usable by the server (it computes HMAC(secret, nonce)),
 *   so they cannot be hashed: they are sealed with AES-256-GCM under a 32-byte
 *   server key kept outside the database, with a fresh IV each time.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  randomInt,
} from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { HalyardError } from '../core/errors.js';

export type TokenPrefix = 'hd_' | 'hu_' | 'hs_';

export const SECRET_KEY_BYTES = 32;
const TOKEN_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEAL_VERSION = 'v1';

export function generateToken(prefix: TokenPrefix): string {
  return prefix + randomBytes(TOKEN_BYTES).toString('base64url');
}

/** SHA-256 hex: how tokens are stored and looked up (see above for why a fast hash is right here). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Letters and digits without look-alikes (0/O, 1/l/I), so a password read off a screen is typed right. */
const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** 24 characters of a 57-letter alphabet: about 140 bits. randomInt avoids modulo bias. */
export function generatePassword(length = 24): string {
  let out = '';
  for (let i = 0; i < length; i++) out += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return out;
}

export function generateHmacSecret(): Buffer {
  return randomBytes(32);
}

export function computeHmac(secret: Buffer, message: Buffer): Buffer {
  return createHmac('sha256', secret).update(message).digest();
}

function checkKey(key: Buffer): void {
  if (key.length !== SECRET_KEY_BYTES) throw new Error(`secret key must be ${SECRET_KEY_BYTES} bytes`);
}

/**
 * `v1.<iv>.<tag>.<ciphertext>` (base64url). `context` is bound as associated data
 * (e.g. the credential id), so a sealed value copied into another row does not open.
 */
export function sealSecret(key: Buffer, plaintext: Buffer, context = ''): string {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const parts = [iv, cipher.getAuthTag(), ciphertext].map((b) => b.toString('base64url'));
  return [SEAL_VERSION, ...parts].join('.');
}

/** The plaintext, or undefined when the value is malformed, tampered with, or sealed under another key or context. */
export function openSecret(key: Buffer, sealed: string, context = ''): Buffer | undefined {
  checkKey(key);
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== SEAL_VERSION) return undefined;
  const [iv, tag, ciphertext] = parts.slice(1).map((p) => Buffer.from(p, 'base64url'));
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    return undefined;
  }
}

/**
 * Reads the server key (64 hex characters) from `path`, or creates it there
 * with mode 0600 (its directory 0700) when the file does not exist. Nodes sharing
 * one database must share this file, or they cannot open each other's HMAC secrets.
 */
export function loadOrCreateSecretKey(path: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw unreadable(path, err);
    const key = randomBytes(SECRET_KEY_BYTES);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      // 'wx': never overwrite a key another process created meanwhile; the loser reads the winner's.
      writeFileSync(path, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
      return key;
    } catch (writeErr) {
      if ((writeErr as NodeJS.ErrnoException).code !== 'EEXIST') throw unreadable(path, writeErr);
      text = readFileSync(path, 'utf8');
    }
  }
  const hex = text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new HalyardError(
      'CONFIG_INVALID',
      `${path} must hold ${SECRET_KEY_BYTES} bytes as 64 hex characters`,
      {
        key: 'security.secretKeyFile',
      },
    );
  }
  return Buffer.from(hex, 'hex');
}

function unreadable(path: string, cause: unknown): HalyardError {
  return new HalyardError(
    'CONFIG_FILE_UNREADABLE',
    `cannot read or create the secret key file ${path}`,
    { key: 'security.secretKeyFile' },
    { cause },
  );
}
