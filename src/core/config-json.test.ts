import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonErrorOffset } from './config-json.js';

describe('jsonErrorOffset', () => {
  it('finds where JSON.parse would fail', () => {
    const cases: [string, number][] = [
      ['{"a": }', 6],
      ['{\n  "a": 1,\n  b: 2}', 14],
      ['{"a": 1', 7],
      ['[1,2,]', 5],
      ['{"a":"x\ny"}', 7],
      ['{"a": 1} x', 9],
      ['{"a": [1, {"b": tru}]}', 16],
      ['{"a": "\\q"}', 7],
    ];
    for (const [text, offset] of cases) {
      assert.throws(() => JSON.parse(text) as unknown);
      assert.equal(jsonErrorOffset(text), offset, text);
    }
  });

  it('accepts valid JSON', () => {
    for (const text of ['{}', ' [] ', '{"a": [1, -2.5e3, true, false, null, "\\u00e9\\n"]}']) {
      assert.equal(jsonErrorOffset(text), undefined, text);
    }
  });
});
