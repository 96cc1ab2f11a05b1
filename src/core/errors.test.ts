import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERROR_CODES, HalyardError, isHalyardError } from './errors.js';

test('every error code is documented in docs/errors.md, and nothing else is', () => {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const documented = [...doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|/gm)].map((m) => m[1]).sort();
  assert.deepEqual(documented, Object.keys(ERROR_CODES).sort());
});

test('HalyardError carries its code and context', () => {
  const err = new HalyardError('LISTEN_FAILED', 'port taken', { port: 1883 });
  assert.equal(isHalyardError(err, 'LISTEN_FAILED'), true);
  assert.equal(isHalyardError(new Error('plain'), 'LISTEN_FAILED'), false);
  assert.equal(err.code, 'LISTEN_FAILED');
  assert.deepEqual(err.context, { port: 1883 });
});
