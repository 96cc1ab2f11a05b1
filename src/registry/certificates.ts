/**
 * Device certificates as the registry sees them: who a certificate names, its
 * fingerprint, its validity, and whether a tenant CA signed it.
 */
import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { x509 } from '../transport/x509.js';

export interface ParsedCertificate {
  /** Colon-separated upper-case SHA-256, as Node's `fingerprint256`. */
  fingerprint256: string;
  /** RFC 4514-ish text, for labels and audit details. */
  subject: string;
  commonNames: string[];
  /** Values of the subject alternative names (DNS, URI, e-mail…). */
  altNames: string[];
  notBefore: number;
  notAfter: number;
  isCa: boolean;
  /** For signature checks. */
  node: NodeX509Certificate;
}

/** Undefined for anything that is not a single well-formed certificate (PEM text or DER bytes). */
export function parseCertificate(input: string | Buffer): ParsedCertificate | undefined {
  try {
    const node = new NodeX509Certificate(input);
    const cert = new x509.X509Certificate(node.raw);
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    return {
      fingerprint256: node.fingerprint256,
      subject: cert.subject,
      // Structured fields, not Node's subject text: a CN containing "\nCN=" cannot pose as a second CN.
      commonNames: cert.subjectName.getField('CN'),
      altNames: san ? san.names.items.map((name) => name.value) : [],
      notBefore: cert.notBefore.getTime(),
      notAfter: cert.notAfter.getTime(),
      isCa: node.ca,
      node,
    };
  } catch {
    return undefined;
  }
}

export function namesDevice(cert: ParsedCertificate, deviceId: string): boolean {
  return cert.commonNames.includes(deviceId) || cert.altNames.includes(deviceId);
}

export function isValidAt(cert: ParsedCertificate, now: number): boolean {
  return cert.notBefore <= now && now <= cert.notAfter;
}

/**
 * Whether `issuer` (a CA certificate, valid at `now`) directly signed `leaf`.
 * Only one level: a tenant CA signs device certificates itself; intermediates are
 * registered as tenant CAs of their own.
 */
export function issuedBy(leaf: ParsedCertificate, issuer: ParsedCertificate, now: number): boolean {
  if (!issuer.isCa || !isValidAt(issuer, now)) return false;
  try {
    return leaf.node.checkIssued(issuer.node) && leaf.node.verify(issuer.node.publicKey);
  } catch {
    return false;
  }
}
