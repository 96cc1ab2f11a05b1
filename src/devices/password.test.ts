import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPassword, parsePasswordHash, verifyPassword } from './password.js';

describe('password hashing', () => {
  it('produces a self-describing scrypt string with a fresh salt each time', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    assert.match(a, /^\$scrypt\$N=16384,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.notEqual(a, b);
  });

  it('verifies the right password and rejects a wrong one', async () => {
    const encoded = await hashPassword('s3cret');
    assert.equal(await verifyPassword('s3cret', encoded), true);
    assert.equal(await verifyPassword(Buffer.from('s3cret'), encoded), true);
    assert.equal(await verifyPassword('s3cret ', encoded), false);
    assert.equal(await verifyPassword('', encoded), false);
  });

  it('honours the parameters stored in the hash', async () => {
    const encoded = await hashPassword('pw', { N: 1024, r: 4, p: 2 });
    assert.match(encoded, /^\$scrypt\$N=1024,r=4,p=2\$/);
    assert.equal(await verifyPassword('pw', encoded), true);
  });

  it('rejects malformed hashes and absurd parameters without throwing', async () => {
    const good = await hashPassword('pw');
    for (const bad of [
      'plain',
      good.replace('N=16384', 'N=1000'), // not a power of two
      good.replace('N=16384', 'N=4194304'), // would need gigabytes
      good.replace('r=8', 'r=0'),
      '$scrypt$N=16384,r=8,p=1$c2FsdA$aGFzaA', // too short salt and hash
    ]) {
      assert.equal(parsePasswordHash(bad), undefined, bad);
      assert.equal(await verifyPassword('pw', bad), false);
    }
  });

  it('does the dummy work for a missing hash and answers false', async () => {
    const started = process.hrtime.bigint();
    assert.equal(await verifyPassword('pw', undefined), false);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.ok(ms > 1, `dummy verification took ${ms} ms, expected real scrypt work`);
  });
});
