import { webcrypto, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { x509 } from './x509.js';

type CryptoKey = webcrypto.CryptoKey;

/** ECDSA P-256: small keys, fast handshakes, and accepted by every TLS stack we target (incl. MCUs). */
const EC_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** Backdating tolerates devices whose clocks run a little behind ours. */
const CLOCK_SKEW_MS = 60 * 60 * 1000;

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
  /** The CA's private key, imported once so each issue does not re-parse PEM. */
  readonly signingKey: CryptoKey;
  readonly cert: x509.X509Certificate;
}

export interface IssueOptions {
  commonName: string;
  /** DNS names and IP addresses; IPs are recognised by shape. */
  sans?: string[];
  usage: 'server' | 'client';
  days: number;
}

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  /** Colon-separated upper-case SHA-256, the same format as Node's `fingerprint256`. */
  fingerprint256: string;
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + days * DAY_MS) };
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_ALGORITHM, true, ['sign', 'verify']);
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function subjectName(commonName: string, organization?: string): x509.JsonName {
  // JSON form, not "CN=…" text, so a name containing ',' or '=' cannot inject RDNs.
  return organization ? [{ CN: [commonName] }, { O: [organization] }] : [{ CN: [commonName] }];
}

/** Creates a self-signed CA that may sign leaf certificates only (pathLength 0). */
export async function createCertificateAuthority(opts: {
  commonName: string;
  days: number;
}): Promise<CertificateAuthority> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: subjectName(opts.commonName, 'Halyard'),
    ...validity(opts.days),
    signingAlgorithm: EC_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    certPem: cert.toString('pem'),
    keyPem: await exportKeyPem(keys.privateKey),
    signingKey: keys.privateKey,
    cert,
  };
}

/** Rebuilds a CA from its PEM files; throws if the key does not belong to the certificate. */
export async function loadCertificateAuthority(
  certPem: string,
  keyPem: string,
): Promise<CertificateAuthority> {
  const cert = new x509.X509Certificate(certPem);
  const signingKey = await webcrypto.subtle.importKey(
    'pkcs8',
    x509.PemConverter.decodeFirst(keyPem),
    { name: EC_ALGORITHM.name, namedCurve: EC_ALGORITHM.namedCurve },
    false,
    ['sign'],
  );
  const ca: CertificateAuthority = { certPem, keyPem, signingKey, cert };
  const probe = await issueCertificate(ca, { commonName: 'key-check', usage: 'client', days: 1 });
  if (!new NodeX509Certificate(probe.certPem).verify(new NodeX509Certificate(certPem).publicKey)) {
    throw new Error('CA private key does not match the CA certificate');
  }
  return ca;
}

/** Issues a leaf certificate with a fresh key pair, signed by `ca`. */
export async function issueCertificate(
  ca: CertificateAuthority,
  opts: IssueOptions,
): Promise<IssuedCertificate> {
  const keys = await generateKeys();
  const server = opts.usage === 'server';
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([
      server ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
    ]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
  ];
  const sans = [...new Set(opts.sans ?? [])].filter((s) => s.length > 0);
  if (sans.length > 0) {
    const names = sans.map((value) => ({ type: isIP(value) ? ('ip' as const) : ('dns' as const), value }));
    extensions.push(new x509.SubjectAlternativeNameExtension(names));
  }
  const cert = await x509.X509CertificateGenerator.create({
    subject: subjectName(opts.commonName),
    issuer: ca.cert.subjectName,
    ...validity(opts.days),
    publicKey: keys.publicKey,
    signingKey: ca.signingKey,
    signingAlgorithm: EC_ALGORITHM,
    extensions,
  });
  const certPem = cert.toString('pem');
  return {
    certPem,
    keyPem: await exportKeyPem(keys.privateKey),
    fingerprint256: new NodeX509Certificate(certPem).fingerprint256,
  };
}
