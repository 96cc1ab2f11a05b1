import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { escapeField, splitFields, unescapeField } from './escape.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('line escaping', () => {
  it('escapes the separator, terminators, the backslash and NUL, and nothing else', () => {
    assert.equal(
      escapeField(b('a|b\\c\nd\re\x04f\x00g')).toString('latin1'),
      'a\\pb\\\\c\\nd\\re\\x04f\\x00g',
    );
    const plain = b('{"t":21.5} ok');
    assert.equal(escapeField(plain), plain, 'a field without special bytes is not copied');
  });

  it('unescapes every escape of the rule, hex in either case', () => {
    assert.deepEqual(unescapeField(b('\\\\ \\p \\n \\r \\x04 \\x7C \\xff')), b('\\ | \n \r \x04 | \xff'));
  });

  it('refuses escapes outside the rule', () => {
    for (const bad of ['\\', 'a\\', '\\q', '\\x', '\\x4', '\\xg0', '\\|']) {
      assert.equal(unescapeField(b(bad)), undefined, JSON.stringify(bad));
    }
  });

  it('round-trips any bytes', () => {
    for (let i = 0; i < 200; i++) {
      const bytes = randomBytes(i);
      const escaped = escapeField(bytes);
      for (const forbidden of [0x7c, 0x0a, 0x0d, 0x04, 0x00]) assert.equal(escaped.indexOf(forbidden), -1);
      assert.deepEqual(unescapeField(escaped), bytes);
    }
  });

  it('splits a frame on every bar, keeping empty fields', () => {
    assert.deepEqual(
      splitFields(b('PUB|t||x|')).map((f) => f.toString()),
      ['PUB', 't', '', 'x', ''],
    );
    assert.deepEqual(
      splitFields(b('PING')).map((f) => f.toString()),
      ['PING'],
    );
  });
});
