import type { Identity } from './auth.js';

export interface PeerCertificate {
  subject?: Record<string, string>;
  subjectaltname?: string;
  fingerprint256?: string;
  /** DER bytes of the certificate. */
  raw: Buffer;
  /** Chains to the listener's trusted CA (Halyard's own, or `caFile`). */
  verified: boolean;
}

/** What a transport knows about a connection when it hands the stream to the broker. */
export interface ConnectionInfo {
  /** Listener name: "mqtt", "mqtts", "ws", "wss" … */
  listener: string;
  remoteAddress: string;
  remotePort?: number;
  allowAnonymous: boolean;
  /**
   * The client certificate of a mutual-TLS connection, whether or not it chains to the
   * listener's CA (`verified`). Anything that trusts it as an identity must either see
   * `verified` or check the chain itself (tenant CAs: the registry does).
   */
  peerCertificate?: PeerCertificate;
  /**
   * Set only by an in-process transport that authenticated the client itself (the line
   * protocol's HMAC challenge): the authenticator is then not asked. Network streams never carry it.
   */
  identity?: Identity;
}
