import type { TLSSocket } from 'node:tls';
import type { ConnectionInfo } from '../broker/connection-info.js';
import type { Logger } from '../core/logger.js';

type PeerCertificate = NonNullable<ConnectionInfo['peerCertificate']>;

/**
 * The client certificate, only when it chains to our trusted CA. The TLS layer lets untrusted
 * certificates through (rejectUnauthorized: false) so that auth can answer with a proper MQTT
 * reason code; handing their subject on would let anyone claim any identity with a self-signed cert.
 */
export function trustedPeerCertificate(socket: TLSSocket, logger: Logger): PeerCertificate | undefined {
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  if (!socket.authorized) {
    logger.debug(
      { remoteAddress: socket.remoteAddress, reason: String(socket.authorizationError) },
      'client certificate not trusted; ignoring it',
    );
    return undefined;
  }
  const subject: Record<string, string> = {};
  // Multi-valued RDNs (e.g. two OU) arrive as arrays; the broker wants one string per attribute.
  for (const [name, value] of Object.entries(cert.subject ?? {}) as [string, string | string[]][]) {
    subject[name] = Array.isArray(value) ? value.join('+') : value;
  }
  return { subject, subjectaltname: cert.subjectaltname, fingerprint256: cert.fingerprint256 };
}
