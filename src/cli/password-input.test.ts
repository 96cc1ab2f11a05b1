import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { CommandError, type CliIo } from './errors.js';
import { promptTotpCode, readPassword } from './password-input.js';

/** A terminal as the prompt sees it: a stream with isTTY and setRawMode. */
function terminal() {
  const stdin = Object.assign(new PassThrough(), {
    isTTY: true,
    rawModes: [] as boolean[],
    setRawMode(raw: boolean) {
      stdin.rawModes.push(raw);
      return stdin;
    },
  });
  const stderr = new PassThrough();
  let shown = '';
  stderr.on('data', (d: Buffer) => (shown += d.toString()));
  const io: CliIo = { stdin, stdout: new PassThrough(), stderr };
  return { io, stdin, shown: () => shown };
}

const pipe = (text: string): CliIo => {
  const stdin = new PassThrough();
  stdin.end(text);
  return { stdin, stdout: new PassThrough(), stderr: new PassThrough() };
};

describe('readPassword', () => {
  it('reads a pipe to its end and drops one trailing newline', async () => {
    assert.equal(await readPassword(pipe('s3cret pw\n'), { env: {}, prompt: '' }), 's3cret pw');
    assert.equal(await readPassword(pipe('s3cret\r\n'), { env: {}, prompt: '' }), 's3cret');
  });

  it('prefers HALYARD_PASSWORD and refuses an empty password', async () => {
    assert.equal(
      await readPassword(pipe('ignored'), { env: { HALYARD_PASSWORD: 'from-env' }, prompt: '' }),
      'from-env',
    );
    await assert.rejects(readPassword(pipe('\n'), { env: {}, prompt: '' }), /password is empty/);
  });

  it('prompts on a terminal in raw mode (no echo), handling backspace, and restores the mode', async () => {
    const t = terminal();
    const answer = readPassword(t.io, { env: {}, prompt: 'Password: ' });
    t.stdin.write('sex');
    t.stdin.write('\u007fcret\r');
    assert.equal(await answer, 'secret');
    assert.deepEqual(t.stdin.rawModes, [true, false]);
    assert.equal(t.shown(), 'Password: \n', 'nothing of the password is echoed');
  });

  it('asks twice when confirming, and refuses two different answers', async () => {
    const t = terminal();
    const answer = readPassword(t.io, { env: {}, prompt: 'New: ', confirm: true });
    t.stdin.write('one-password\r');
    await new Promise((r) => setImmediate(r));
    t.stdin.write('another\r');
    await assert.rejects(answer, /the two passwords differ/);
    assert.deepEqual(t.stdin.rawModes, [true, false, true, false]);
  });

  it('Ctrl-C aborts the prompt', async () => {
    const t = terminal();
    const answer = readPassword(t.io, { env: {}, prompt: 'Password: ' });
    t.stdin.write('abc\u0003');
    await assert.rejects(answer, (err) => err instanceof CommandError && err.message === 'interrupted');
    assert.deepEqual(t.stdin.rawModes, [true, false]);
  });
});

describe('promptTotpCode', () => {
  it('asks a terminal for the code, spaces around it dropped', async () => {
    const t = terminal();
    const answer = promptTotpCode(t.io, 'Code: ');
    t.stdin.write(' 123456 \r');
    assert.equal(await answer, '123456');
    assert.equal(t.shown(), 'Code: \n');
  });

  it('without a terminal, says how to give the code instead of reading stdin', async () => {
    await assert.rejects(
      promptTotpCode(pipe('123456\n'), 'Code: '),
      (err) => err instanceof CommandError && /--totp <code> or HALYARD_TOTP/.test(err.message),
    );
  });
});
