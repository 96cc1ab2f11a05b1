import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameSplitter, type Terminator } from './frame-splitter.js';

function splitter(max = 16) {
  const events: (string | [string, Terminator])[] = [];
  const s = new FrameSplitter(max, {
    onFrame: (frame, terminator) => events.push([frame.toString('latin1'), terminator]),
    onOverflow: () => events.push('overflow'),
  });
  return { s, events };
}

describe('FrameSplitter', () => {
  it('ends frames at LF, CRLF or EOT and says which', () => {
    const { s, events } = splitter();
    s.push(Buffer.from('PING\nPONG\r\nBYE\x04\n'));
    assert.deepEqual(events, [
      ['PING', 'lf'],
      ['PONG', 'crlf'],
      ['BYE', 'eot'],
      ['', 'lf'],
    ]);
  });

  it('joins frames split over many chunks, byte by byte', () => {
    const { s, events } = splitter();
    for (const byte of Buffer.from('PUB|a|b\r\nPI')) s.push(Buffer.from([byte]));
    s.push(Buffer.from('NG\x04'));
    assert.deepEqual(events, [
      ['PUB|a|b', 'crlf'],
      ['PING', 'eot'],
    ]);
  });

  it('reports an over-long frame once, skips it to its end without buffering, and goes on', () => {
    const { s, events } = splitter(8);
    s.push(Buffer.from('0123456789'));
    s.push(Buffer.alloc(100_000, 0x41)); // still the same frame
    s.push(Buffer.from('tail\nPING\n'));
    assert.deepEqual(events, ['overflow', ['PING', 'lf']]);
  });

  it('accepts exactly the maximum, with or without a CR before the LF', () => {
    const { s, events } = splitter(4);
    s.push(Buffer.from('ABCD\nABCD\r\nABCDE\nOK\n'));
    assert.deepEqual(events, [['ABCD', 'lf'], ['ABCD', 'crlf'], 'overflow', ['OK', 'lf']]);
  });

  it('an over-long frame that ends in the same chunk is reported once', () => {
    const { s, events } = splitter(4);
    s.push(Buffer.from('ABCDEFGH\nX\n'));
    assert.deepEqual(events, ['overflow', ['X', 'lf']]);
  });

  it('delivers nothing once halted', () => {
    const { s, events } = splitter();
    s.push(Buffer.from('PI'));
    s.halt();
    s.push(Buffer.from('NG\n'));
    assert.deepEqual(events, []);
  });
});
