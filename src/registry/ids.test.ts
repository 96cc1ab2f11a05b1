import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ID_PATTERN } from './model.js';
import { randomId, slugify } from './ids.js';

describe('ids', () => {
  it('makes prefixed random ids that are valid and distinct', () => {
    const a = randomId('d-');
    const b = randomId('d-');
    assert.match(a, /^d-[a-z2-7]{10}$/);
    assert.match(a, ID_PATTERN);
    assert.notEqual(a, b);
    assert.equal(randomId('t-', 4).length, 6);
  });

  it('slugifies names into valid ids', () => {
    assert.equal(slugify('Acme Corp.'), 'acme-corp');
    assert.equal(slugify('  Café / Zürich  '), 'cafe-zurich');
    assert.equal(slugify('日本'), undefined);
    assert.equal(slugify('---'), undefined);
    const long = slugify('x'.repeat(100));
    assert.equal(long?.length, 40);
    assert.match(slugify('A b C')!, ID_PATTERN);
  });
});
