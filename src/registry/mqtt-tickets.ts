/**
 * MQTT tickets: what the dashboard's MQTT console uses as its MQTT password. A
 * browser script cannot read the HttpOnly session cookie (by design), and the
 * dashboard must not keep the person's password, so the API hands out a ticket
 * instead: `ht_` and a value sealed under the server key (AES-256-GCM, secrets.ts)
 * naming the session or API token it was issued for and when it stops opening.
 *
 * A ticket is short-lived (it only has to last until the CONNECT) and is only as
 * good as the token it names: the broker looks that token up at every use, so a
 * ticket of a session that has ended opens nothing. Nothing is stored.
 */
import { openSecret, sealSecret } from './secrets.js';

export const TICKET_PREFIX = 'ht_';
export const TICKET_TTL_MS = 60_000;
/** Bound into the seal, so no other sealed value of the registry passes for a ticket. */
const SEAL_CONTEXT = 'mqtt-ticket';

export type TokenKind = 'session' | 'api-token';

export interface TicketClaim {
  /** The kind of token the ticket was issued for, and its SHA-256 (as the store keeps it). */
  kind: TokenKind;
  tokenHash: string;
  expiresAt: number;
}

export function sealTicket(key: Buffer, claim: TicketClaim): string {
  return TICKET_PREFIX + sealSecret(key, Buffer.from(JSON.stringify(claim), 'utf8'), SEAL_CONTEXT);
}

/** The claim of a ticket that is genuine and not expired at `now`; undefined otherwise. */
export function openTicket(key: Buffer, ticket: string, now: number): TicketClaim | undefined {
  if (!ticket.startsWith(TICKET_PREFIX)) return undefined;
  const plain = openSecret(key, ticket.slice(TICKET_PREFIX.length), SEAL_CONTEXT);
  if (!plain) return undefined;
  const claim = JSON.parse(plain.toString('utf8')) as TicketClaim;
  return claim.expiresAt > now ? claim : undefined;
}
