/**
 * Making device credentials: the record the store keeps and the secret shown
 * once. Rules about who may ask, the audit entry and events are the registry's.
 */
import { HalyardError } from '../core/errors.js';
import { hashPassword } from '../devices/password.js';
import { issueCertificate, type CertificateAuthority } from '../transport/pki.js';
import { isValidAt, namesDevice, parseCertificate } from './certificates.js';
import type { Credential, Device } from './model.js';
import type { CredentialRequest, IssuedCredential } from './service.js';
import { generateHmacSecret, generatePassword, generateToken, hashToken, sealSecret } from './secrets.js';
import type { RegistryStore } from './store.js';
import { checkInt, checkMqttUsername, checkPassword, invalid, LIMITS } from './validate.js';

const DAY_MS = 86_400_000;
const DEFAULT_CERT_DAYS = 365;
/** Labels tell certificates apart: only those Halyard issued can be re-issued by rotation. */
export const PLATFORM_CERT_LABEL = 'platform CA: ';
export const TENANT_CA_CERT_LABEL = 'tenant CA: ';

export interface CredentialFactory {
  store: RegistryStore;
  secretKey: Buffer;
  ca: CertificateAuthority;
  now: number;
}

/** Seals an HMAC secret to its credential: a sealed value moved to another row does not open. */
export const hmacSealContext = (credentialId: string) => `credential:${credentialId}`;

export async function makeCredential(
  f: CredentialFactory,
  device: Device,
  id: string,
  request: CredentialRequest,
): Promise<IssuedCredential> {
  const base = { id, deviceId: device.id, tenantId: device.tenantId, createdAt: f.now, revokedAt: null };
  switch (request.kind) {
    case 'token': {
      const token = generateToken('hd_');
      // The prefix and 4 characters (24 of 256 bits) let people tell tokens apart in a list.
      const credential: Credential = {
        ...base,
        kind: 'token',
        lookup: hashToken(token),
        secret: null,
        label: `${token.slice(0, 7)}…`,
        expiresAt: null,
      };
      return { credential, secret: token };
    }
    case 'password': {
      const username = checkMqttUsername('username', request.username);
      const password =
        request.password === undefined ? generatePassword() : checkPassword('password', request.password);
      await checkUsernameFree(f.store, username, device.id);
      const credential: Credential = {
        ...base,
        kind: 'password',
        lookup: username,
        secret: await hashPassword(password),
        label: username,
        expiresAt: null,
      };
      return { credential, secret: password };
    }
    case 'hmac': {
      const secret = generateHmacSecret();
      const credential: Credential = {
        ...base,
        kind: 'hmac',
        lookup: device.id,
        secret: sealSecret(f.secretKey, secret, hmacSealContext(id)),
        label: 'hmac-sha256',
        expiresAt: null,
      };
      return { credential, secret: secret.toString('hex') };
    }
    case 'certificate':
      return 'certPem' in request
        ? registerCertificate(f, device, base, request.certPem)
        : issuePlatformCertificate(f, device, base, request.days);
    default:
      throw invalid('kind', 'must be token, password, certificate or hmac');
  }
}

type Base = Pick<Credential, 'id' | 'deviceId' | 'tenantId' | 'createdAt' | 'revokedAt'>;

async function issuePlatformCertificate(
  f: CredentialFactory,
  device: Device,
  base: Base,
  days: number | undefined,
): Promise<IssuedCredential> {
  const validDays = checkInt('days', days ?? DEFAULT_CERT_DAYS, 1, LIMITS.certificateDaysMax);
  const issued = await issueCertificate(f.ca, { commonName: device.id, usage: 'client', days: validDays });
  const parsed = parseCertificate(issued.certPem);
  const credential: Credential = {
    ...base,
    kind: 'certificate',
    lookup: issued.fingerprint256,
    secret: null,
    label: `${PLATFORM_CERT_LABEL}CN=${device.id}`,
    expiresAt: parsed ? parsed.notAfter : f.now + validDays * DAY_MS,
  };
  return {
    credential,
    certificate: {
      certPem: issued.certPem,
      keyPem: issued.keyPem,
      caPem: f.ca.certPem,
      fingerprint256: issued.fingerprint256,
    },
  };
}

async function registerCertificate(
  f: CredentialFactory,
  device: Device,
  base: Base,
  certPem: unknown,
): Promise<IssuedCredential> {
  if (typeof certPem !== 'string' || !certPem.includes('-----BEGIN CERTIFICATE-----')) {
    throw invalid('certPem', 'must be a PEM certificate');
  }
  const cert = parseCertificate(certPem);
  if (!cert) throw invalid('certPem', 'is not a readable X.509 certificate');
  if (cert.isCa) throw invalid('certPem', 'is a CA certificate; add it as a tenant CA instead');
  if (!namesDevice(cert, device.id)) {
    throw invalid(
      'certPem',
      `must name the device: CN or a subject alternative name equal to "${device.id}"`,
    );
  }
  if (!isValidAt(cert, f.now)) throw invalid('certPem', 'is expired or not yet valid');
  if ((await f.store.findCredentials('certificate', cert.fingerprint256)).length > 0) {
    throw new HalyardError('CONFLICT', 'this certificate is registered already', { field: 'certPem' });
  }
  const credential: Credential = {
    ...base,
    kind: 'certificate',
    lookup: cert.fingerprint256,
    secret: null,
    label: cert.subject,
    expiresAt: cert.notAfter,
  };
  // No `certificate` block: the caller holds the PEM already, and no CA of ours is involved.
  return { credential };
}

/** An MQTT username names one device: other devices' live password credentials may not use it. */
async function checkUsernameFree(store: RegistryStore, username: string, deviceId: string): Promise<void> {
  const holders = await store.findCredentials('password', username);
  if (holders.some((c) => c.deviceId !== deviceId)) {
    throw new HalyardError('CONFLICT', `MQTT username "${username}" is used by another device`, {
      field: 'username',
    });
  }
}

/** What rotating `old` asks for: the same kind, the same username, the same validity length. */
export function rotationRequest(old: Credential): CredentialRequest {
  switch (old.kind) {
    case 'token':
    case 'hmac':
      return { kind: old.kind };
    case 'password':
      return { kind: 'password', username: old.lookup };
    case 'certificate': {
      if (!old.label.startsWith(PLATFORM_CERT_LABEL)) {
        throw new HalyardError(
          'INVALID_INPUT',
          'only certificates issued by the platform CA can be rotated; register the new certificate instead',
          { field: 'credentialId' },
        );
      }
      const days =
        old.expiresAt === null ? DEFAULT_CERT_DAYS : Math.round((old.expiresAt - old.createdAt) / DAY_MS);
      return { kind: 'certificate', days: Math.min(Math.max(days, 1), LIMITS.certificateDaysMax) };
    }
  }
}
