import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_WATCHED_DEVICES, parseClientFrame } from './live-protocol.js';

describe('parseClientFrame', () => {
  it('reads a watch request; an empty or missing list means every device', () => {
    const narrowed = parseClientFrame('{"type":"watch","deviceIds":["d1","d2","d1"]}');
    assert.ok(narrowed.ok);
    assert.deepEqual([...(narrowed.request.deviceIds ?? [])], ['d1', 'd2']);
    for (const text of ['{"type":"watch","deviceIds":[]}', '{"type":"watch"}']) {
      assert.deepEqual(parseClientFrame(text), {
        ok: true,
        request: { type: 'watch', deviceIds: undefined },
      });
    }
  });

  it('refuses anything else with the reason', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /one JSON object/],
      ['{"type":"watch"', /one JSON object/],
      ['null', /one JSON object/],
      ['["watch"]', /one JSON object/],
      ['{}', /unknown type undefined/],
      ['{"type":"publish"}', /unknown type "publish"/],
      ['{"type":"watch","deviceIds":{"0":"d1"}}', /must be an array/],
      ['{"type":"watch","deviceIds":["d1",""]}', /deviceIds\[1\]/],
      ['{"type":"watch","deviceIds":["d1",7]}', /deviceIds\[1\]/],
      [`{"type":"watch","deviceIds":["${'x'.repeat(300)}"]}`, /deviceIds\[0\]/],
      [
        JSON.stringify({
          type: 'watch',
          deviceIds: Array.from({ length: MAX_WATCHED_DEVICES + 1 }, (_, i) => `d${i}`),
        }),
        /at most/,
      ],
    ];
    for (const [text, reason] of cases) {
      const parsed = parseClientFrame(text);
      assert.equal(parsed.ok, false, text);
      assert.match(parsed.ok ? '' : parsed.message, reason, text);
    }
  });
});
