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
  peerCertificate?: { subject?: Record<string, string>; subjectaltname?: string; fingerprint256?: string };
}

export type AuthFailure = 'bad-credentials' | 'not-authorized' | 'banned' | 'server-busy';

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
  /** Topic as the client sees it (mount point not applied). */
  canPublish(topic: string): boolean;
  /** Filter as the client sees it (mount point not applied, no $share prefix). */
  canSubscribe(filter: string): boolean;
}

export interface Authenticator {
  authenticate(attempt: ConnectAttempt): Promise<AuthResult>;
}
