import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkTotp, generateTotpSecret, matchTotp, totpCode, totpProvisioning, totpStep } from './totp.js';

/** The SHA-1 seed of RFC 6238, appendix B. */
const RFC_SECRET = Buffer.from('12345678901234567890', 'ascii');
/** Appendix B's times (seconds) and 8-digit SHA-1 codes; a 6-digit code is the last six digits. */
const RFC_VECTORS: Array<[number, string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

describe('TOTP (RFC 6238)', () => {
  it('computes the RFC 6238 test vectors (SHA-1, 6 digits, 30 s)', () => {
    for (const [seconds, code] of RFC_VECTORS) {
      assert.equal(totpCode(RFC_SECRET, seconds * 1000), code.slice(-6), `T = ${seconds}`);
      assert.equal(matchTotp(RFC_SECRET, code.slice(-6), seconds * 1000), totpStep(seconds * 1000));
    }
    assert.equal(totpStep(59_000), 1);
    assert.equal(totpStep(1111111109_000), 0x23523ec);
  });

  it('accepts a code one step early or late, and no further', () => {
    const now = 1234567890_000;
    const step = totpStep(now);
    const code = totpCode(RFC_SECRET, now);
    for (const offset of [-1, 0, 1]) {
      assert.equal(matchTotp(RFC_SECRET, code, now + offset * 30_000), step, `offset ${offset}`);
    }
    for (const offset of [-2, 2]) {
      assert.equal(matchTotp(RFC_SECRET, code, now + offset * 30_000), undefined, `offset ${offset}`);
    }
  });

  it('refuses codes that are not its digits; spaces inside are ignored', () => {
    const now = 59_000;
    assert.equal(matchTotp(RFC_SECRET, '287 082', now), 1);
    for (const wrong of ['287083', '94287082', '28708', '', 'abcdef', '28708x', '-28708']) {
      assert.equal(matchTotp(RFC_SECRET, wrong, now), undefined, JSON.stringify(wrong));
    }
  });

  it('accepts a code only for a step later than the last accepted one', () => {
    const now = 2000000000_000;
    const step = totpStep(now);
    const code = totpCode(RFC_SECRET, now);
    assert.deepEqual(checkTotp(RFC_SECRET, code, now, null), { ok: true, step });
    assert.deepEqual(checkTotp(RFC_SECRET, code, now, step - 1), { ok: true, step });
    assert.deepEqual(checkTotp(RFC_SECRET, code, now, step), { ok: false, reason: 'replayed' });
    // Still inside its window 30 s later, and still spent.
    assert.deepEqual(checkTotp(RFC_SECRET, code, now + 30_000, step), { ok: false, reason: 'replayed' });
    // A code from before the last accepted one (the clock ran ahead once) is refused too.
    const earlier = totpCode(RFC_SECRET, now - 30_000);
    assert.deepEqual(checkTotp(RFC_SECRET, earlier, now, step), { ok: false, reason: 'replayed' });
    assert.deepEqual(checkTotp(RFC_SECRET, '000000', now, null), { ok: false, reason: 'wrong-code' });
  });

  it('provisions a 160-bit secret as base32 and an otpauth URL for authenticator apps', () => {
    const secret = generateTotpSecret();
    assert.equal(secret.length, 20);
    assert.notDeepEqual(generateTotpSecret(), secret);
    const { secret: base32, otpauthUrl } = totpProvisioning(secret, 'alice@example');
    assert.match(base32, /^[A-Z2-7]{32}$/);
    const url = new URL(otpauthUrl);
    assert.equal(url.protocol, 'otpauth:');
    assert.equal(url.host, 'totp');
    assert.equal(decodeURIComponent(url.pathname), '/Halyard:alice@example');
    assert.equal(url.searchParams.get('secret'), base32);
    assert.equal(url.searchParams.get('issuer'), 'Halyard');
    assert.equal(url.searchParams.get('algorithm'), 'SHA1');
    assert.equal(url.searchParams.get('digits'), '6');
    assert.equal(url.searchParams.get('period'), '30');
  });
});
