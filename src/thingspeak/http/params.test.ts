import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseForm } from './params.js';

describe('parseForm', () => {
  it('reads a form exactly as URLSearchParams does, whether or not there is something to decode', () => {
    const pieces = [
      'a',
      'B',
      '1',
      '=',
      '&',
      '%',
      '%2B',
      '%E9',
      '+',
      '__proto__',
      'constructor',
      'é',
      ' ',
      '',
    ];
    // Every string of up to four pieces: 41,371 forms, each compared with the standard parser.
    const forms = [''];
    for (let length = 1; length <= 4; length++) {
      for (const prefix of forms.filter((f) => f.split('\u0000').length === length)) {
        for (const p of pieces) forms.push(`${prefix}\u0000${p}`);
      }
    }
    let compared = 0;
    for (const form of forms.map((f) => f.replaceAll('\u0000', ''))) {
      assert.deepEqual(parseForm(form), Object.fromEntries(new URLSearchParams(form)), JSON.stringify(form));
      compared++;
    }
    assert.equal(compared, 41_371);
  });

  it('keeps the last of repeated names and reads a name without `=` as empty', () => {
    assert.deepEqual(parseForm('api_key=K&field1=1&&field1=2&status'), {
      api_key: 'K',
      field1: '2',
      status: '',
    });
  });
});
