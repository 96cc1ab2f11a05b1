import type { PeerCertificate } from './connection-info.js';

/**
 * Authentication and authorization are behind this interface so that the
 * broker core never knows where identities live: the built-in config-file users
 * (devices/config-users.ts) today, the device registry later.
 */
export interface ConnectAttempt {
  clientId: string;
  username?: string;
  password?: Buffer;
  /** Name of the listener the client came through (e.g. "mqtt", "mqtts", "ws"). */
  listener: string;
  remoteAddress: string;
  /** Whether this listener lets clients in without credentials. */
  allowAnonymous: boolean;
  /** Peer certificate of a mutual-TLS connection, when the listener asks for one. */
  /** See ConnectionInfo.peerCertificate: check `verified` before trusting it. */
  peerCertificate?: PeerCertificate;
}

export type AuthFailure =
  | 'bad-credentials'
  | 'not-authorized'
  | 'banned'
  | 'server-busy'
  /** Too many connection attempts from this address (MQTT 5 0x9F). */
  | 'connection-rate-exceeded'
  /** A cap on connections of the tenant or device was reached (MQTT 5 0x97). */
  | 'quota-exceeded';

export type AuthResult =
  { ok: true; identity: Identity } | { ok: false; reason: AuthFailure; message?: string };

/** What the broker needs to know about an authenticated client. */
export interface Identity {
  /** Who this is, for logs and $SYS; never a secret. */
  readonly name: string;
  readonly anonymous: boolean;
  /**
   * Prefix applied to every topic this client names, so that tenants never meet.
   * '' for none. Must end with '/' when set.
   */
  readonly mountPoint: string;
  /**
   * Prefix of this client's session key, so that equal client ids of different
   * tenants or devices never share, or take over, one session. '' for none.
   */
  readonly sessionScope: string;
  /** Topic as the client sees it (mount point not applied). */
  canPublish(topic: string): boolean;
  /** Filter as the client sees it (mount point not applied, no $share prefix). */
  canSubscribe(filter: string): boolean;
  /**
   * Publish quota, asked for every PUBLISH the client sends (payload bytes): 0 admits
   * it; 0x97 (quota exceeded) refuses that message in its PUBACK/PUBREC; 0x96 (message
   * rate too high) disconnects, as MQTT 5 allows that code only in DISCONNECT.
   * Absent = no quota.
   */
  admitPublish?(bytes: number, now: number): number;
}

/** Why a client's connection ended, as connection observers (presence) see it. */
export type DisconnectCause =
  | 'client' // DISCONNECT packet
  | 'keep-alive' // no packet within 1.5 × keep-alive
  | 'taken-over' // another connection took the session
  | 'kicked' // administrative action: credential revoked, device deactivated…
  | 'server-shutdown'
  | 'protocol-error' // the broker closed it for bad input or a limit
  | 'lost'; // the network connection dropped without DISCONNECT

export interface ClientView {
  /** The broker's session key (session scope + client id). */
  readonly clientId: string;
  readonly identity: Identity;
  readonly listener: string;
  readonly remoteAddress: string;
}

/** Told of every authenticated connection's start and end (presence, connection caps). */
export interface ConnectionObserver {
  clientConnected(client: ClientView): void;
  clientDisconnected(client: ClientView, cause: DisconnectCause): void;
  /**
   * A subscription was granted and its SUBACK written, or a resumed session
   * brought it back (after the CONNACK): `filter` as the client named it
   * (without its mount point). Anything sent to the client from here on
   * arrives after that acknowledgement. Must not throw.
   */
  subscribed?(client: ClientView, filter: string): void;
}

export interface Authenticator {
  authenticate(attempt: ConnectAttempt): Promise<AuthResult>;
}
