import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, rename, writeFile, chmod, access } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { HalyardError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { createCertificateAuthority, issueCertificate, loadCertificateAuthority } from './pki.js';
import type { CertificateAuthority } from './pki.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** Trust anchor for client certificates (and what clients should trust for ours). */
  ca?: string;
  caPath?: string;
  /** True when the material comes from Halyard's own local CA rather than user-supplied files. */
  generated: boolean;
}

export interface TlsFilesConfig {
  certFile?: string;
  keyFile?: string;
  caFile?: string;
}

const CA_DAYS = 3650;
const SERVER_DAYS = 730;
/** Re-issue the server certificate this long before it expires, so a restart never serves a dead one. */
const RENEW_BEFORE_MS = 30 * 86_400_000;

export function localTlsPaths(dataDir: string) {
  const dir = join(dataDir, 'tls');
  return {
    dir,
    caKey: join(dir, 'ca.key'),
    caCert: join(dir, 'ca.crt'),
    serverKey: join(dir, 'server.key'),
    serverCert: join(dir, 'server.crt'),
  };
}

function tlsError(message: string, path: string, cause: unknown): HalyardError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new HalyardError('TLS_SETUP_FAILED', `${message} ${path}${detail}`, { path }, { cause });
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw tlsError(`cannot read ${what}`, path, err);
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Write-then-rename so a crash mid-write never leaves a truncated key that breaks the next start. */
async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, data, { mode });
    await chmod(tmp, mode); // the umask may have narrowed or the file may have pre-existed
    await rename(tmp, path);
  } catch (err) {
    throw tlsError('cannot write', path, err);
  }
}

async function loadUserMaterial(cfg: TlsFilesConfig): Promise<TlsMaterial> {
  if (!cfg.certFile || !cfg.keyFile) {
    const missing = cfg.certFile ? 'keyFile' : 'certFile';
    throw new HalyardError('TLS_SETUP_FAILED', `TLS ${missing} is required when the other is set`, {
      ...cfg,
    });
  }
  const cert = await readPem(cfg.certFile, 'TLS certificate');
  const key = await readPem(cfg.keyFile, 'TLS private key');
  try {
    new X509Certificate(cert);
  } catch (err) {
    throw tlsError('not a PEM certificate:', cfg.certFile, err);
  }
  const ca = cfg.caFile ? await readPem(cfg.caFile, 'TLS CA certificate') : undefined;
  return { cert, key, ca, caPath: cfg.caFile, generated: false };
}

async function loadOrCreateCa(paths: ReturnType<typeof localTlsPaths>) {
  const [hasKey, hasCert] = await Promise.all([exists(paths.caKey), exists(paths.caCert)]);
  if (hasKey !== hasCert) {
    // Regenerating would silently invalidate every device that trusts the old CA.
    const missing = hasKey ? paths.caCert : paths.caKey;
    throw tlsError('local CA is incomplete, missing', missing, undefined);
  }
  if (hasKey) {
    const certPem = await readPem(paths.caCert, 'local CA certificate');
    const keyPem = await readPem(paths.caKey, 'local CA key');
    try {
      return { ca: await loadCertificateAuthority(certPem, keyPem), created: false };
    } catch (err) {
      throw tlsError('cannot load local CA from', paths.dir, err);
    }
  }
  const ca = await createCertificateAuthority({
    commonName: `Halyard Local CA (${hostname()})`,
    days: CA_DAYS,
  });
  await writeAtomic(paths.caKey, ca.keyPem, 0o600);
  await writeAtomic(paths.caCert, ca.certPem, 0o644);
  return { ca, created: true };
}

function serverCertUsable(certPem: string, ca: CertificateAuthority): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const fresh = Date.parse(cert.validTo) - Date.now() > RENEW_BEFORE_MS;
    return fresh && cert.checkIssued(new X509Certificate(ca.certPem));
  } catch {
    return false;
  }
}

/** Halyard's own CA (created on first use): it signs the server certificate and devices' client certificates. */
export async function ensureLocalCa(dataDir: string): Promise<CertificateAuthority> {
  const paths = localTlsPaths(dataDir);
  try {
    await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw tlsError('cannot create directory', paths.dir, err);
  }
  return (await loadOrCreateCa(paths)).ca;
}

/** Server certificate and key for the TLS listeners: the user's files, or Halyard's own local CA. */
export async function ensureTlsMaterial(
  dataDir: string,
  cfg: TlsFilesConfig,
  logger: Logger,
): Promise<TlsMaterial> {
  if (cfg.certFile || cfg.keyFile) return loadUserMaterial(cfg);

  const paths = localTlsPaths(dataDir);
  try {
    await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw tlsError('cannot create directory', paths.dir, err);
  }
  const { ca, created } = await loadOrCreateCa(paths);

  let cert = (await exists(paths.serverCert)) ? await readPem(paths.serverCert, 'server certificate') : '';
  let key = (await exists(paths.serverKey)) ? await readPem(paths.serverKey, 'server key') : '';
  if (created || !key || !serverCertUsable(cert, ca)) {
    const host = hostname();
    const issued = await issueCertificate(ca, {
      commonName: host || 'localhost',
      sans: ['localhost', '127.0.0.1', '::1', host],
      usage: 'server',
      days: SERVER_DAYS,
    });
    await writeAtomic(paths.serverKey, issued.keyPem, 0o600);
    await writeAtomic(paths.serverCert, issued.certPem, 0o644);
    ({ certPem: cert, keyPem: key } = issued);
    logger.info(
      { path: paths.serverCert, fingerprint256: issued.fingerprint256 },
      'issued server certificate',
    );
  }
  logger.info({ caPath: paths.caCert, created }, 'TLS uses the local CA; give clients this file to trust');
  return { cert, key, ca: ca.certPem, caPath: paths.caCert, generated: true };
}

/** The local CA, for issuing device client certificates (`halyard device cert`). */
export async function loadLocalCa(dataDir: string): Promise<CertificateAuthority> {
  const paths = localTlsPaths(dataDir);
  const certPem = await readPem(paths.caCert, 'local CA certificate');
  const keyPem = await readPem(paths.caKey, 'local CA key');
  try {
    return await loadCertificateAuthority(certPem, keyPem);
  } catch (err) {
    throw tlsError('cannot load local CA from', paths.dir, err);
  }
}
