import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { LINE_ERRORS } from './errors.js';
import { encodeFrame, parseFrame, type ParsedFrame } from './frames.js';

const parse = (text: string): ParsedFrame => parseFrame(Buffer.from(text, 'latin1'));

function frame(text: string) {
  const parsed = parse(text);
  assert.ok(parsed.ok, `${text}: ${parsed.ok ? '' : `${parsed.code} ${parsed.reason}`}`);
  return parsed.frame;
}

function refused(text: string): string {
  const parsed = parse(text);
  assert.ok(!parsed.ok, `${text} should be refused`);
  return parsed.code;
}

const MAC = 'ab'.repeat(32);

describe('parseFrame', () => {
  it('decodes every client frame; commands in any case', () => {
    assert.deepEqual(frame('HELLO'), { cmd: 'HELLO' });
    assert.deepEqual(frame('ping'), { cmd: 'PING' });
    assert.deepEqual(frame('Bye'), { cmd: 'BYE' });
    assert.deepEqual(frame('CLOSE'), { cmd: 'CLOSE' });
    assert.deepEqual(frame('SUB|a/+/c'), { cmd: 'SUB', filter: 'a/+/c' });
    assert.deepEqual(frame('UNSUB|$share/g/a/#'), { cmd: 'UNSUB', filter: '$share/g/a/#' });
    assert.deepEqual(frame(`AUTH|dev-1|${MAC}`), {
      cmd: 'AUTH',
      deviceId: 'dev-1',
      proof: { kind: 'hmac', mac: Buffer.from(MAC, 'hex') },
    });
    assert.deepEqual(frame('AUTH|dev-1|token|s3cr\\pet'), {
      cmd: 'AUTH',
      deviceId: 'dev-1',
      proof: { kind: 'token', token: 's3cr|et' },
    });
  });

  it('PUB: the payload unescaped, QoS 1 unless 0 is asked for', () => {
    assert.deepEqual(frame('PUB|a/b|x\\py\\n'), {
      cmd: 'PUB',
      topic: 'a/b',
      payload: Buffer.from('x|y\n'),
      qos: 1,
    });
    assert.deepEqual(frame('PUB|a/b||0'), { cmd: 'PUB', topic: 'a/b', payload: Buffer.alloc(0), qos: 0 });
    assert.equal(refused('PUB|a/b|x|2'), 'bad-frame');
    assert.equal(refused('PUB|a/b'), 'bad-frame');
    assert.equal(refused('PUB|a/b|x|1|more'), 'bad-frame');
  });

  it('REPEAT keeps its text exactly as sent, bars included', () => {
    const repeat = frame('REPEAT|a|b\\p');
    assert.equal(repeat.cmd === 'REPEAT' && repeat.text.toString(), 'a|b\\p');
    const empty = frame('REPEAT');
    assert.equal(empty.cmd === 'REPEAT' && empty.text.length, 0);
  });

  it('SEND: destination and type checked, the fields kept escaped as the record', () => {
    const send = frame('SEND|dev-2|temp|21.5|a\\pb');
    assert.equal(send.cmd, 'SEND');
    if (send.cmd !== 'SEND') return;
    assert.equal(send.dest, 'dev-2');
    assert.equal(send.type, 'temp');
    assert.equal(send.record.toString(), '21.5|a\\pb');
    const bare = frame('SEND|dev-2|reboot');
    assert.equal(bare.cmd === 'SEND' && bare.record.length, 0);
    assert.equal(refused('SEND|a/b|t'), 'bad-frame');
    assert.equal(refused('SEND|dev-2|t/x'), 'bad-frame');
    assert.equal(refused('SEND|dev-2|t|bad\\q'), 'bad-escape');
    assert.equal(refused('SEND|dev-2'), 'bad-frame');
  });

  it('refuses bad frames with a precise code', () => {
    assert.equal(refused('JUMP|x'), 'unknown-command');
    assert.equal(refused(''), 'unknown-command');
    assert.equal(refused('PING|x'), 'bad-frame');
    assert.equal(refused('SUB'), 'bad-frame');
    assert.equal(refused('AUTH|dev-1'), 'bad-frame');
    assert.equal(refused('AUTH|dev-1|xyz'), 'bad-frame');
    assert.equal(refused(`AUTH|dev-1|${MAC}00`), 'bad-frame');
    assert.equal(refused('AUTH|dev-1|PASSWORD|x'), 'bad-frame');
    assert.equal(refused('AUTH|dev-1|TOKEN|'), 'bad-frame');
    assert.equal(refused(`AUTH|../x|${MAC}`), 'bad-frame');
    assert.equal(refused('PUB|a/+|x'), 'bad-topic');
    assert.equal(refused('PUB||x'), 'bad-topic');
    assert.equal(refused('PUB|a\\x00b|x'), 'bad-topic');
    assert.equal(refused('PUB|a\\xffb|x'), 'bad-topic');
    assert.equal(refused('PUB|a|x\\'), 'bad-escape');
    assert.equal(refused('PUB|a\\q|x'), 'bad-escape');
    assert.equal(refused('SUB|a/#/b'), 'bad-topic');
    assert.equal(refused('SUB|$share/g'), 'bad-topic');
  });
});

describe('encodeFrame', () => {
  it('escapes fields and ends with the terminator asked for', () => {
    assert.equal(encodeFrame('MSG', ['a/b', Buffer.from('x|y\n')], 'lf').toString(), 'MSG|a/b|x\\py\\n\n');
    assert.equal(encodeFrame('PONG', [], 'crlf').toString(), 'PONG\r\n');
    assert.equal(encodeFrame('ERR', ['bad-frame', 'why'], 'eot').toString(), 'ERR|bad-frame|why\x04');
  });
});

describe('error codes', () => {
  it('every code is documented in docs/line-protocol.md, and nothing else is', () => {
    const doc = readFileSync(new URL('../../../../docs/line-protocol.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Error codes'));
    const table = section.slice(0, section.indexOf('\n## ', 1) > 0 ? section.indexOf('\n## ', 1) : undefined);
    const documented = [...table.matchAll(/^\|\s*`([a-z-]+)`\s*\|/gm)].map((m) => m[1]).sort();
    assert.deepEqual(documented, Object.keys(LINE_ERRORS).sort());
  });
});
