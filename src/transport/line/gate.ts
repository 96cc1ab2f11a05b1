import type { AuthFailure, Identity } from '../../broker/auth.js';

/**
 * What the line protocol needs from the device registry, as the composition
 * root provides it (src/devices/line-gate.ts): logins with the same rate limit,
 * lockout, connection caps, ACL and quota as an MQTT CONNECT, and the tenant
 * check for SEND.
 */

export type LineProof =
  /** `nonce`: the nonce exactly as the greeting showed it (ASCII hex). */
  | { kind: 'hmac'; deviceId: string; nonce: Buffer; mac: Buffer }
  | { kind: 'token'; deviceId: string; token: string };

export interface LinePeer {
  /** Listener name, for the audit log ("line", "lines"). */
  listener: string;
  remoteAddress: string;
  /** The MQTT client id the conversation's session will have (ACLs may name it as %c). */
  clientId: string;
}

export type LineLogin =
  | { ok: true; identity: Identity; deviceId: string; tenantId: string }
  | { ok: false; reason: AuthFailure; message?: string };

export interface LineGate {
  login(proof: LineProof, peer: LinePeer): Promise<LineLogin>;
  /** Whether `deviceId` is a device of `tenantId`; a device of another tenant is as unknown as a missing one. */
  isTenantDevice(tenantId: string, deviceId: string): Promise<boolean>;
}

/** Where SEND delivers, inside the tenant: `devices/<dest>/inbox/<from>/<type>` (docs/line-protocol.md). */
export function inboxTopic(dest: string, from: string, type: string): string {
  return `devices/${dest}/inbox/${from}/${type}`;
}

/** What a conversation subscribes to for its device on AUTH. */
export function inboxFilter(deviceId: string): string {
  return `devices/${deviceId}/inbox/#`;
}
