import type { TLSSocket } from 'node:tls';
import type { PeerCertificate } from '../broker/connection-info.js';

/**
 * The client certificate, if the client presented one, with whether it chains to the
 * listener's trusted CA. The TLS layer lets untrusted certificates through
 * (rejectUnauthorized: false) so that auth can answer with a proper MQTT reason code,
 * and so that the registry can check certificates of tenant CAs the TLS layer does not know.
 */
export function peerCertificate(socket: TLSSocket): PeerCertificate | undefined {
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  const subject: Record<string, string> = {};
  // Multi-valued RDNs (e.g. two OU) arrive as arrays; the broker wants one string per attribute.
  for (const [name, value] of Object.entries(cert.subject ?? {}) as [string, string | string[]][]) {
    subject[name] = Array.isArray(value) ? value.join('+') : value;
  }
  return {
    subject,
    subjectaltname: cert.subjectaltname,
    fingerprint256: cert.fingerprint256,
    raw: cert.raw,
    verified: socket.authorized,
  };
}
