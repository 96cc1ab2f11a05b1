/**
 * RFC 6238 time-based one-time passwords as Halyard uses them: HMAC-SHA-1,
 * 6 digits, 30-second steps, a code accepted one step early or late (clock drift
 * and typing time). Pure: the clock comes in; where the secret is kept and which
 * steps were spent is the registry's business (second-factor.ts).
 */
import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

export const TOTP_ISSUER = 'Halyard';
const PERIOD_SECONDS = 30;
const DIGITS = 6;
/** Steps accepted either side of the current one. */
const WINDOW = 1;
/** 160 bits: the HMAC-SHA-1 output size, which RFC 4226 recommends for the shared secret. */
const SECRET_BYTES = 20;

export function generateTotpSecret(): Buffer {
  return randomBytes(SECRET_BYTES);
}

/** What authenticator apps are given: the secret in base32, and as an otpauth:// URL (the QR code's content). */
export interface TotpProvisioning {
  secret: string;
  otpauthUrl: string;
}

export function totpProvisioning(secret: Buffer, username: string): TotpProvisioning {
  const totp = totpOf(secret, username);
  return { secret: totp.secret.base32, otpauthUrl: totp.toString() };
}

/** The time step of a moment: whole periods since the epoch. */
export function totpStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / PERIOD_SECONDS);
}

/** The code of the step `nowMs` falls in: what an authenticator app shows (tests play the app). */
export function totpCode(secret: Buffer, nowMs: number): string {
  return totpOf(secret).generate({ timestamp: nowMs });
}

/** The secret as an authenticator app reads it from the enrolment's base32 text. */
export function totpSecretFromBase32(base32: string): Buffer {
  return Buffer.from(Secret.fromBase32(base32).bytes);
}

/** The time step whose code `code` is, within the window around `nowMs`; undefined when it is none of them. */
export function matchTotp(secret: Buffer, code: string, nowMs: number): number | undefined {
  const token = code.replace(/\s/g, '');
  if (!/^\d+$/.test(token)) return undefined;
  const delta = totpOf(secret).validate({ token, timestamp: nowMs, window: WINDOW });
  return delta === null ? undefined : totpStep(nowMs) + delta;
}

export type TotpCheck = { ok: true; step: number } | { ok: false; reason: 'wrong-code' | 'replayed' };

/**
 * A code is accepted once: its step must be later than the last accepted one, so a
 * code seen over a shoulder (or on the wire) cannot be used again within its window.
 */
export function checkTotp(secret: Buffer, code: string, nowMs: number, lastStep: number | null): TotpCheck {
  const step = matchTotp(secret, code, nowMs);
  if (step === undefined) return { ok: false, reason: 'wrong-code' };
  if (lastStep !== null && step <= lastStep) return { ok: false, reason: 'replayed' };
  return { ok: true, step };
}

/** Bound to the sealed secret (secrets.ts), so a sealed value copied to another user's row does not open. */
export const totpSealContext = (userId: string): string => `totp:${userId}`;

function totpOf(secret: Buffer, label = ''): TOTP {
  return new TOTP({
    issuer: TOTP_ISSUER,
    label,
    secret: Secret.fromHex(secret.toString('hex')),
    algorithm: 'SHA1',
    digits: DIGITS,
    period: PERIOD_SECONDS,
  });
}
