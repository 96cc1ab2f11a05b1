import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isHalyardError } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { createCertificateAuthority, issueCertificate } from './pki.js';
import { captureLogger, withTempDir } from './test-support.js';
import { ensureTlsMaterial, loadLocalCa, localTlsPaths } from './tls-material.js';

describe('ensureTlsMaterial (generated)', () => {
  it('creates a local CA and a server certificate it signed', () =>
    withTempDir(async (dir) => {
      const { logger, lines } = captureLogger();
      const material = await ensureTlsMaterial(dir, {}, logger);
      const paths = localTlsPaths(dir);
      assert.equal(material.generated, true);
      assert.equal(material.caPath, paths.caCert);

      const ca = new X509Certificate(material.ca ?? '');
      const server = new X509Certificate(material.cert);
      assert.equal(ca.ca, true);
      assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
      assert.ok(Date.parse(ca.validTo) - Date.now() > 9 * 365 * 86_400_000);
      assert.equal(server.ca, false);
      assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey));
      assert.equal(server.checkHost('localhost'), 'localhost');
      assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
      assert.equal(server.checkIP('::1'), '::1');
      assert.deepEqual(server.keyUsage, ['1.3.6.1.5.5.7.3.1']); // Node reports the EKU OIDs here

      for (const key of [paths.caKey, paths.serverKey]) {
        assert.equal((await stat(key)).mode & 0o777, 0o600, key);
      }
      const caLogs = lines.filter((l) => l.caPath === paths.caCert);
      assert.equal(caLogs.length, 1);
      assert.equal(caLogs[0].level, 30);
    }));

  it('reuses the files on a later start', () =>
    withTempDir(async (dir) => {
      const first = await ensureTlsMaterial(dir, {}, silentLogger());
      const second = await ensureTlsMaterial(dir, {}, silentLogger());
      assert.equal(
        new X509Certificate(second.cert).fingerprint256,
        new X509Certificate(first.cert).fingerprint256,
      );
      assert.equal(second.ca, first.ca);
      assert.equal(second.key, first.key);
    }));

  it('re-issues a missing server certificate from the existing CA', () =>
    withTempDir(async (dir) => {
      const first = await ensureTlsMaterial(dir, {}, silentLogger());
      await unlink(localTlsPaths(dir).serverCert);
      const second = await ensureTlsMaterial(dir, {}, silentLogger());
      assert.equal(second.ca, first.ca);
      assert.notEqual(second.cert, first.cert);
    }));

  it('refuses to replace a CA whose key has gone missing', () =>
    withTempDir(async (dir) => {
      await ensureTlsMaterial(dir, {}, silentLogger());
      const { caKey } = localTlsPaths(dir);
      await unlink(caKey);
      await assert.rejects(ensureTlsMaterial(dir, {}, silentLogger()), (err) => {
        assert.ok(isHalyardError(err, 'TLS_SETUP_FAILED'));
        assert.match(err.message, new RegExp(caKey.replace(/[/\\.]/g, '\\$&')));
        return true;
      });
    }));

  it('exposes the local CA for issuing device client certificates', () =>
    withTempDir(async (dir) => {
      const material = await ensureTlsMaterial(dir, {}, silentLogger());
      const ca = await loadLocalCa(dir);
      const device = await issueCertificate(ca, { commonName: 'dev,CN=admin', usage: 'client', days: 30 });
      const cert = new X509Certificate(device.certPem);
      assert.ok(cert.verify(new X509Certificate(material.ca ?? '').publicKey));
      assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
      assert.equal(cert.subject, 'CN=dev\\,CN=admin'); // one escaped RDN, not two
      assert.equal(cert.fingerprint256, device.fingerprint256);
    }));
});

describe('ensureTlsMaterial (user-supplied)', () => {
  it('loads the configured files', () =>
    withTempDir(async (dir) => {
      const ca = await createCertificateAuthority({ commonName: 'User CA', days: 30 });
      const leaf = await issueCertificate(ca, { commonName: 'broker.example', usage: 'server', days: 30 });
      const certFile = join(dir, 'c.pem');
      const keyFile = join(dir, 'k.pem');
      const caFile = join(dir, 'ca.pem');
      await Promise.all([
        writeFile(certFile, leaf.certPem),
        writeFile(keyFile, leaf.keyPem),
        writeFile(caFile, ca.certPem),
      ]);
      const material = await ensureTlsMaterial(dir, { certFile, keyFile, caFile }, silentLogger());
      assert.deepEqual(material, {
        cert: leaf.certPem,
        key: leaf.keyPem,
        ca: ca.certPem,
        caPath: caFile,
        generated: false,
      });
      await assert.rejects(stat(localTlsPaths(dir).dir), { code: 'ENOENT' });
    }));

  it('names the path it could not read', () =>
    withTempDir(async (dir) => {
      const certFile = join(dir, 'nope.pem');
      await assert.rejects(ensureTlsMaterial(dir, { certFile, keyFile: certFile }, silentLogger()), (err) => {
        assert.ok(isHalyardError(err, 'TLS_SETUP_FAILED'));
        assert.ok(err.message.includes(certFile), err.message);
        assert.equal(err.context.path, certFile);
        return true;
      });
    }));

  it('insists on both certFile and keyFile', () =>
    withTempDir(async (dir) => {
      await assert.rejects(
        ensureTlsMaterial(dir, { certFile: join(dir, 'c.pem') }, silentLogger()),
        /keyFile/,
      );
    }));
});
