import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isHalyardError } from '../core/errors.js';
import { tempDir } from '../../test/helpers/temp-dir.js';
import {
  computeHmac,
  generatePassword,
  generateToken,
  hashToken,
  loadOrCreateSecretKey,
  openSecret,
  sealSecret,
} from './secrets.js';

describe('secrets', () => {
  it('makes prefixed 256-bit tokens and hashes them as SHA-256 hex', () => {
    const a = generateToken('hd_');
    assert.match(a, /^hd_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, generateToken('hd_'));
    assert.match(generateToken('hu_'), /^hu_/);
    assert.match(hashToken(a), /^[0-9a-f]{64}$/);
    assert.equal(hashToken(a), hashToken(a));
    assert.notEqual(hashToken(a), hashToken(a + 'x'));
  });

  it('generates 24-character passwords from an unambiguous alphabet', () => {
    const p = generatePassword();
    assert.equal(p.length, 24);
    assert.match(p, /^[A-HJ-NP-Za-km-z2-9]+$/);
    assert.notEqual(p, generatePassword());
  });

  it('seals and opens a secret, with a fresh IV each time', () => {
    const key = randomBytes(32);
    const secret = randomBytes(32);
    const a = sealSecret(key, secret, 'credential:c1');
    const b = sealSecret(key, secret, 'credential:c1');
    assert.notEqual(a, b);
    assert.ok(!a.includes(secret.toString('hex')) && !a.includes(secret.toString('base64url')));
    assert.deepEqual(openSecret(key, a, 'credential:c1'), secret);
    assert.deepEqual(openSecret(key, b, 'credential:c1'), secret);
  });

  it('refuses a wrong key, a wrong context and any tampering', () => {
    const key = randomBytes(32);
    const sealed = sealSecret(key, Buffer.from('hello'), 'ctx');
    assert.equal(openSecret(randomBytes(32), sealed, 'ctx'), undefined);
    assert.equal(openSecret(key, sealed, 'other'), undefined);
    const parts = sealed.split('.');
    const ct = Buffer.from(parts[3], 'base64url');
    ct[0] ^= 1;
    assert.equal(
      openSecret(key, [...parts.slice(0, 3), ct.toString('base64url')].join('.'), 'ctx'),
      undefined,
    );
    assert.equal(openSecret(key, 'garbage', 'ctx'), undefined);
    assert.equal(openSecret(key, 'v1.a.b.c', 'ctx'), undefined);
    assert.throws(() => sealSecret(randomBytes(16), Buffer.from('x')), /32 bytes/);
  });

  it('computes HMAC-SHA256', () => {
    // RFC 4231 test case 2.
    const mac = computeHmac(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'));
    assert.equal(mac.toString('hex'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('creates the server key file with mode 0600 and reads it back', () => {
    const path = join(tempDir('halyard-key-'), 'nested', 'secret.key');
    const key = loadOrCreateSecretKey(path);
    assert.equal(key.length, 32);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(readFileSync(path, 'utf8').trim(), key.toString('hex'));
    assert.deepEqual(loadOrCreateSecretKey(path), key);
  });

  it('refuses a key file with the wrong content', () => {
    const path = join(tempDir('halyard-key-'), 'secret.key');
    writeFileSync(path, 'too short\n');
    assert.throws(
      () => loadOrCreateSecretKey(path),
      (err) => isHalyardError(err, 'CONFIG_INVALID'),
    );
  });
});
