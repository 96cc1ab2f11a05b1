/**
 * Whether a device's proof is good: a token, a password, an HMAC over a nonce or
 * a client certificate (registered, or signed by a tenant CA). Only the answer:
 * lockout and the audit of logins are the LoginGate's (logins.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import { isHalyardError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { verifyPassword } from '../devices/password.js';
import { isValidAt, issuedBy, parseCertificate, type ParsedCertificate } from './certificates.js';
import { TENANT_CA_CERT_LABEL, hmacSealContext } from './credentials.js';
import { randomId } from './ids.js';
import type { AuditEntry, Credential, CredentialKind, Device, TenantCa } from './model.js';
import { computeHmac, hashToken, openSecret } from './secrets.js';
import type { DeviceProof, LoginFailure } from './service.js';
import type { RegistryStore } from './store.js';

export type AuditWriter = (entry: Omit<AuditEntry, 'id' | 'at'>) => Promise<void>;

export interface DeviceProofsOptions {
  store: RegistryStore;
  logger: Logger;
  secretKey: Buffer;
  now: () => number;
  audit: AuditWriter;
}

/** Who a proof claims to be, before anything is checked: the lockout key and the name for the audit log. */
export interface Claim {
  key: string;
  name: string;
  kind: CredentialKind;
}

export type Checked =
  | { ok: true; device: Device; credential: Credential }
  | {
      ok: false;
      reason: Exclude<LoginFailure, 'locked-out' | 'totp-required'>;
      detail: string;
      device?: Device;
    };

const bad = (detail: string, device?: Device): Checked => ({
  ok: false,
  reason: 'bad-credentials',
  detail,
  device,
});

export class DeviceProofs {
  /** Tenant CAs parsed once, by fingerprint (a CA's PEM never changes under the same fingerprint). */
  private readonly parsedCas = new Map<string, ParsedCertificate | undefined>();

  constructor(private readonly o: DeviceProofsOptions) {}

  /** Whether `proof` is a valid credential of an active device; `cert` is the parsed certificate of a certificate proof. */
  async check(proof: DeviceProof, cert: ParsedCertificate | undefined): Promise<Checked> {
    switch (proof.kind) {
      case 'token': {
        const [credential] = await this.o.store.findCredentials('token', hashToken(proof.token));
        return credential ? this.deviceOf(credential) : bad('unknown token');
      }
      case 'password': {
        const candidates = await this.o.store.findCredentials('password', proof.username);
        if (candidates.length === 0) {
          await verifyPassword(proof.password, undefined); // the same work as a real check
          return bad('unknown username');
        }
        // Two candidates only while a password is being rotated; each gets the full check.
        for (const credential of candidates) {
          if (await verifyPassword(proof.password, credential.secret ?? undefined))
            return this.deviceOf(credential);
        }
        return bad('wrong password', await this.o.store.getDevice(candidates[0].deviceId));
      }
      case 'hmac': {
        const candidates = await this.o.store.findCredentials('hmac', proof.deviceId);
        for (const credential of candidates) {
          const secret =
            credential.secret &&
            openSecret(this.o.secretKey, credential.secret, hmacSealContext(credential.id));
          if (!secret) {
            this.o.logger.error(
              { credentialId: credential.id },
              'hmac secret does not open with the server key',
            );
            continue;
          }
          const expected = computeHmac(secret, proof.nonce);
          if (proof.proof.length === expected.length && timingSafeEqual(proof.proof, expected)) {
            return this.deviceOf(credential);
          }
        }
        return bad(
          candidates.length === 0 ? 'no hmac secret' : 'wrong proof',
          await this.o.store.getDevice(proof.deviceId),
        );
      }
      case 'certificate':
        return this.checkCertificate(cert, proof.verified);
    }
  }

  /**
   * A client certificate is accepted when
   * 1. its fingerprint is registered (issued by the platform CA, or uploaded): TLS
   *    proved possession of the key, so a registered fingerprint is enough even if
   *    the certificate does not chain to our CA; or
   * 2. a tenant CA signed it and its CN (or a SAN) names a device of that tenant.
   *    Such certificates need no registration; the first login registers them, so
   *    they can be listed and revoked, and a revoked fingerprint stays refused.
   */
  private async checkCertificate(cert: ParsedCertificate | undefined, verified: boolean): Promise<Checked> {
    if (!cert) return bad('unreadable certificate');
    const now = this.o.now();
    if (!isValidAt(cert, now)) return bad('certificate expired or not yet valid');
    const [registered] = await this.o.store.findCredentials('certificate', cert.fingerprint256);
    if (registered) {
      // Registered on first use, so trusted only while its tenant still trusts the CA.
      const viaTenantCa = registered.label.startsWith(TENANT_CA_CERT_LABEL);
      if (viaTenantCa && (await this.signingCas(cert, now, registered.tenantId)).length === 0) {
        return bad('tenant CA no longer trusted');
      }
      return this.deviceOf(registered);
    }
    if (verified) return bad('certificate not registered'); // platform-CA certificates are always registered

    for (const ca of await this.signingCas(cert, now)) {
      for (const name of new Set([...cert.commonNames, ...cert.altNames])) {
        const device = await this.o.store.getDevice(name);
        if (!device || device.tenantId !== ca.tenantId) continue;
        const known = (await this.o.store.listCredentials(device.id)).find(
          (c) => c.kind === 'certificate' && c.lookup === cert.fingerprint256,
        );
        if (known)
          return known.revokedAt === null ? this.deviceOf(known) : bad('certificate revoked', device);
        const credential = await this.registerTenantCertificate(device, cert, ca.id);
        return credential ? this.deviceOf(credential) : bad('certificate registration failed', device);
      }
    }
    return bad('certificate not registered and not signed by a tenant CA');
  }

  /** The tenant CAs (of one tenant, or all) that signed `cert`. */
  private async signingCas(cert: ParsedCertificate, now: number, tenantId?: string): Promise<TenantCa[]> {
    const cas = await this.o.store.listTenantCas(tenantId);
    return cas.filter((ca) => {
      const parsed = this.parsedCa(ca.fingerprint256, ca.certPem);
      return parsed !== undefined && issuedBy(cert, parsed, now);
    });
  }

  private async registerTenantCertificate(
    device: Device,
    cert: ParsedCertificate,
    caId: string,
  ): Promise<Credential | undefined> {
    const credential: Credential = {
      id: randomId('c-'),
      deviceId: device.id,
      tenantId: device.tenantId,
      kind: 'certificate',
      lookup: cert.fingerprint256,
      secret: null,
      label: `${TENANT_CA_CERT_LABEL}${cert.subject}`,
      createdAt: this.o.now(),
      expiresAt: cert.notAfter,
      revokedAt: null,
    };
    try {
      await this.o.store.createCredential(credential);
    } catch (err) {
      // Two first logins at once: the other one registered it.
      if (!isHalyardError(err, 'CONFLICT')) throw err;
      return (await this.o.store.findCredentials('certificate', cert.fingerprint256))[0];
    }
    await this.o.audit({
      tenantId: device.tenantId,
      actorType: 'system',
      actor: 'system',
      action: 'credential.issue',
      target: `device:${device.id}`,
      address: null,
      outcome: 'success',
      details: {
        kind: 'certificate',
        credentialId: credential.id,
        via: 'tenant-ca',
        caId,
        fingerprint256: cert.fingerprint256,
      },
    });
    return credential;
  }

  private parsedCa(fingerprint: string, pem: string): ParsedCertificate | undefined {
    if (!this.parsedCas.has(fingerprint)) {
      if (this.parsedCas.size >= 10_000) this.parsedCas.clear();
      this.parsedCas.set(fingerprint, parseCertificate(pem));
    }
    return this.parsedCas.get(fingerprint);
  }

  private async deviceOf(credential: Credential): Promise<Checked> {
    if (credential.expiresAt !== null && credential.expiresAt < this.o.now())
      return bad('credential expired');
    const device = await this.o.store.getDevice(credential.deviceId);
    if (!device) return bad('device missing');
    if (!device.active) return { ok: false, reason: 'deactivated', detail: 'device deactivated', device };
    return { ok: true, device, credential };
  }
}

export function claimOf(proof: DeviceProof, cert: ParsedCertificate | undefined): Claim {
  switch (proof.kind) {
    case 'token': {
      // Never the token itself: a prefix of its hash names it in the audit log.
      const id = hashToken(proof.token).slice(0, 16);
      return { key: `token:${id}`, name: `token:${id}`, kind: 'token' };
    }
    case 'password':
      return { key: `mqtt-user:${proof.username}`, name: proof.username, kind: 'password' };
    case 'hmac':
      return { key: `device:${proof.deviceId}`, name: proof.deviceId, kind: 'hmac' };
    case 'certificate': {
      const name = cert?.commonNames[0] ?? cert?.fingerprint256 ?? 'unreadable-certificate';
      return { key: `device:${name}`, name, kind: 'certificate' };
    }
  }
}
