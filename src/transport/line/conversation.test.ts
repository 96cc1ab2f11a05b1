import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Identity } from '../../broker/auth.js';
import { RC } from '../../broker/reason-codes.js';
import { silentLogger } from '../../core/logger.js';
import { Admission } from './admission.js';
import type { BrokerLinkEvents, LinkAckCallback } from './broker-link.js';
import { Conversation } from './conversation.js';
import type { Link } from './ports.js';
import type { Terminator } from './frame-splitter.js';
import type { LineGate, LineProof } from './gate.js';
import { LineStats } from './stats.js';

const GOOD_TOKEN = 'good-token';

class FakeLink implements Link {
  readonly publishes: { topic: string; payload: string; qos: 0 | 1; done: LinkAckCallback }[] = [];
  readonly subscribes: { filter: string; done: LinkAckCallback }[] = [];
  readonly unsubscribes: { filter: string; done: LinkAckCallback }[] = [];
  closed = false;
  /** Answers SUBSCRIBE at once (the inbox subscription of AUTH). */
  autoSubscribe = true;

  publish(topic: string, payload: Buffer, qos: 0 | 1, done: LinkAckCallback): void {
    this.publishes.push({ topic, payload: payload.toString(), qos, done });
  }
  subscribe(filter: string, done: LinkAckCallback): void {
    if (this.autoSubscribe) done({ reason: 1 });
    else this.subscribes.push({ filter, done });
    this.filters.push(filter);
  }
  unsubscribe(filter: string, done: LinkAckCallback): void {
    this.unsubscribes.push({ filter, done });
  }
  close(): void {
    this.closed = true;
  }
  readonly filters: string[] = [];
}

const identity = { name: 'device:d1' } as Identity;

/** Lets promise callbacks of the fakes run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function harness(opts: { admission?: Admission; authTimeoutMs?: number; nonce?: string } = {}) {
  const out: string[] = [];
  const admission = opts.admission ?? new Admission(10, 10);
  const stats = new LineStats('line', admission);
  const link = new FakeLink();
  const proofs: LineProof[] = [];
  let events: BrokerLinkEvents | undefined;
  let congested = false;
  let closed = false;
  let reading = true;
  let onClose = () => {};
  let nonces = 0;
  const gate: LineGate = {
    login(proof) {
      proofs.push(proof);
      const good =
        proof.kind === 'token' ? proof.token === GOOD_TOKEN : proof.mac.equals(Buffer.alloc(32, 7));
      return Promise.resolve(
        good
          ? { ok: true, identity, deviceId: proof.deviceId, tenantId: 'acme' }
          : { ok: false, reason: 'bad-credentials' },
      );
    },
    isTenantDevice: (tenantId, deviceId) => Promise.resolve(tenantId === 'acme' && deviceId === 'd2'),
  };
  const conversation = new Conversation({
    admission,
    gate,
    openLink: (_identity, _clientId, linkEvents) => {
      events = linkEvents;
      return Promise.resolve({ ok: true, link });
    },
    newClientId: () => 'line-test',
    newNonce: () => opts.nonce ?? `nonce-${++nonces}`,
    listener: 'line',
    remoteAddress: '192.0.2.1',
    authTimeoutMs: opts.authTimeoutMs ?? 60_000,
    stats,
    log: silentLogger(),
    output: {
      write: (bytes) => out.push(bytes.toString('latin1')),
      congested: () => congested,
      setReading: (on) => (reading = on),
      close: () => {
        closed = true;
        onClose();
      },
    },
  });
  return {
    conversation,
    link,
    stats,
    proofs,
    admission,
    /** Everything written since the last call. */
    take: () => out.splice(0),
    send: (text: string, terminator: Terminator = 'lf') =>
      conversation.receive(Buffer.from(text, 'latin1'), terminator),
    events: () => events as BrokerLinkEvents,
    setCongested: (on: boolean) => (congested = on),
    get closed() {
      return closed;
    },
    get reading() {
      return reading;
    },
    /** Resolves when the output is closed; fails after 5 s (and keeps the event loop alive until then). */
    whenClosed: () =>
      new Promise<void>((resolve, reject) => {
        const guard = setTimeout(() => reject(new Error('the connection was not closed')), 5000);
        onClose = () => {
          clearTimeout(guard);
          resolve();
        };
        if (closed) onClose();
      }),
  };
}

async function authenticated(h: ReturnType<typeof harness>): Promise<void> {
  h.conversation.start();
  h.send(`AUTH|d1|TOKEN|${GOOD_TOKEN}`);
  await settle();
  assert.deepEqual(h.take().slice(-1), ['OK\n']);
}

describe('Conversation', () => {
  it('greets with a nonce, answers PING and REPEAT with the terminator each frame used', () => {
    const h = harness();
    h.conversation.start();
    h.send('PING', 'crlf');
    h.send('ping', 'eot');
    h.send('REPEAT|hello\\pworld');
    h.send('');
    assert.deepEqual(h.take(), ['HALYARD|1|nonce-1\n', 'PONG\r\n', 'PONG\x04', 'OK|hello\\pworld\n']);
    assert.equal(h.stats.framesReceived, 3, 'an empty line is no frame');
  });

  it('AUTH: refuses a wrong proof and stays greeted; the right one opens the session on the inbox', async () => {
    const h = harness();
    h.conversation.start();
    h.take();
    h.send('PUB|a|b');
    h.send(`AUTH|d1|${'00'.repeat(32)}`);
    await settle();
    assert.deepEqual(h.take(), [
      'ERR|auth-required|send AUTH first\n',
      'ERR|auth-failed|unknown device, or wrong proof or token\n',
    ]);
    assert.equal(h.stats.authFailures, 1);
    h.send(`AUTH|d1|${'07'.repeat(32)}`);
    h.send('HELLO'); // pipelined behind AUTH: runs once AUTH is decided
    await settle();
    assert.deepEqual(h.take(), ['OK\n', 'OK|d1\n']);
    assert.deepEqual(h.proofs[1], {
      kind: 'hmac',
      deviceId: 'd1',
      nonce: Buffer.from('nonce-1'),
      mac: Buffer.alloc(32, 7),
    });
    assert.deepEqual(h.link.filters, ['devices/d1/inbox/#']);
    h.send('AUTH|d1|TOKEN|x');
    assert.deepEqual(h.take(), ['ERR|already-authenticated|AUTH succeeded already\n']);
  });

  it('HELLO before AUTH gives a fresh nonce, and the old one is void', () => {
    const h = harness();
    h.conversation.start();
    h.send('HELLO');
    assert.deepEqual(h.take(), ['HALYARD|1|nonce-1\n', 'HALYARD|1|nonce-2\n']);
    h.send(`AUTH|d1|${'00'.repeat(32)}`);
    const proof = h.proofs[0];
    assert.equal(proof.kind === 'hmac' && proof.nonce.toString(), 'nonce-2');
  });

  it('replies in frame order: a PUB waiting for the store holds back a later PONG', async () => {
    const h = harness();
    await authenticated(h);
    h.send('PUB|a/b|x');
    h.send('PING');
    assert.deepEqual(h.take(), []);
    const [pub] = h.link.publishes;
    assert.deepEqual([pub.topic, pub.payload, pub.qos], ['a/b', 'x', 1]);
    pub.done({ reason: RC.SUCCESS });
    assert.deepEqual(h.take(), ['OK\n', 'PONG\n']);
    assert.equal(h.stats.messagesPublished, 1);
  });

  it('maps refusals to error codes, with the broker reason when there is one', async () => {
    const h = harness();
    await authenticated(h);
    h.send('PUB|a|x|0');
    h.send('PUB|secret|x');
    h.send('PUB|devices/me/telemetry|nope');
    h.send('PUB|a|x');
    h.send('PUB|a|x');
    h.send('UNSUB|never/subscribed');
    const [qos0, acl, telemetry, quota, failed] = h.link.publishes;
    assert.equal(qos0.qos, 0);
    qos0.done({ reason: RC.SUCCESS });
    acl.done({ reason: RC.NOT_AUTHORIZED, reasonString: 'not allowed to publish to this topic' });
    telemetry.done({ reason: RC.PAYLOAD_FORMAT_INVALID, reasonString: 'invalid JSON' });
    quota.done({ reason: RC.QUOTA_EXCEEDED });
    failed.done({ reason: RC.UNSPECIFIED_ERROR });
    h.link.unsubscribes[0].done({ reason: RC.NO_SUBSCRIPTION_EXISTED });
    assert.deepEqual(h.take(), [
      'OK\n',
      'ERR|not-authorized|not allowed to publish to this topic\n',
      'ERR|bad-payload|invalid JSON\n',
      'ERR|quota-exceeded|refused (reason 0x97)\n',
      'ERR|not-stored|refused (reason 0x80)\n',
      'ERR|no-subscription|not subscribed to never/subscribed\n',
    ]);
  });

  it('SEND: only to a device of the tenant, on its inbox, and says when nobody listens', async () => {
    const h = harness();
    await authenticated(h);
    h.send('SEND|other-tenants-device|temp|1');
    h.send('SEND|d2|temp|21.5|a\\pb');
    await settle();
    const [send] = h.link.publishes;
    assert.deepEqual([send.topic, send.payload, send.qos], ['devices/d2/inbox/d1/temp', '21.5|a\\pb', 1]);
    send.done({ reason: RC.NO_MATCHING_SUBSCRIBERS });
    h.send('SEND|d2|temp|22');
    await settle();
    h.link.publishes[1].done({ reason: RC.SUCCESS });
    assert.deepEqual(h.take(), [
      'ERR|unknown-device|no device other-tenants-device in this tenant\n',
      'ERR|no-receiver|d2 is not listening on its inbox\n',
      'OK\n',
    ]);
  });

  it('MSG frames go out as they come; their acknowledgement waits while the output is congested', async () => {
    const h = harness();
    await authenticated(h);
    const acks: string[] = [];
    h.events().onMessage('a/b', Buffer.from('x|y'), () => acks.push('first'));
    h.setCongested(true);
    h.events().onMessage('a/c', Buffer.from('z'), () => acks.push('second'));
    assert.deepEqual(h.take(), ['MSG|a/b|x\\py\n', 'MSG|a/c|z\n']);
    assert.deepEqual(acks, ['first']);
    h.conversation.drained();
    assert.deepEqual(acks, ['first', 'second']);
  });

  it('BYE waits for outstanding replies, ends the session, frees the slot and keeps the connection', async () => {
    const admission = new Admission(1, 10);
    const h = harness({ admission });
    await authenticated(h);
    const next = harness({ admission });
    next.conversation.start();
    assert.deepEqual(next.take(), ['WAIT|1\n']);
    h.send('PUB|a|x');
    h.send('BYE');
    h.send('PING'); // after BYE: waits for it
    assert.equal(h.link.closed, false, 'the PUB in flight is not cut off');
    h.link.publishes[0].done({ reason: RC.SUCCESS });
    assert.deepEqual(h.take(), ['OK\n', 'BYE\n', 'PONG\n']);
    assert.equal(h.link.closed, true);
    assert.deepEqual(next.take(), ['HALYARD|1|nonce-1\n'], 'the waiting client is served');
    h.send('PUB|a|x');
    h.send('HELLO');
    assert.deepEqual(h.take(), ['ERR|no-conversation|send HELLO to start one\n', 'WAIT|1\n']);
    assert.equal(h.closed, false);
  });

  it('while waiting: PING and REPEAT are answered, other frames get ERR waiting; CLOSE leaves the line', () => {
    const admission = new Admission(1, 10);
    const first = harness({ admission });
    first.conversation.start();
    const second = harness({ admission });
    second.conversation.start();
    const third = harness({ admission });
    third.conversation.start();
    second.send('PING');
    second.send('AUTH|d1|TOKEN|x');
    second.send('HELLO');
    second.send('CLOSE');
    assert.deepEqual(second.take(), [
      'WAIT|1\n',
      'PONG\n',
      'ERR|waiting|waiting for a free conversation slot\n',
      'ERR|waiting|waiting for a free conversation slot\n',
      'BYE\n',
    ]);
    assert.equal(second.closed, true);
    assert.deepEqual(third.take(), ['WAIT|2\n', 'WAIT|1\n']);
    first.conversation.connectionClosed();
    assert.deepEqual(third.take(), ['HALYARD|1|nonce-1\n']);
    assert.equal(admission.conversations, 1);
  });

  it('a full line refuses with ERR busy and closes', () => {
    const admission = new Admission(1, 0);
    harness({ admission }).conversation.start();
    const late = harness({ admission });
    late.conversation.start();
    assert.deepEqual(late.take(), ['ERR|busy|too many connections are waiting; try again later\n']);
    assert.equal(late.closed, true);
  });

  it('the broker ending the session (device deactivated) ends with ERR kicked and closes', async () => {
    const h = harness();
    await authenticated(h);
    h.events().onEnd(RC.ADMINISTRATIVE_ACTION, 'device deactivated');
    assert.deepEqual(h.take(), ['ERR|kicked|device deactivated\n']);
    assert.equal(h.closed, true);
    assert.equal(h.admission.conversations, 0);
  });

  it('no AUTH within the timeout: ERR auth-timeout, then the connection closes and the slot is free', async () => {
    const h = harness({ authTimeoutMs: 20 });
    h.conversation.start();
    await h.whenClosed();
    assert.deepEqual(h.take(), [
      'HALYARD|1|nonce-1\n',
      'ERR|auth-timeout|no AUTH within 0.02 s of the greeting\n',
    ]);
    assert.equal(h.admission.conversations, 0);
  });

  it('a client that ends its side gets every reply, then the connection closes', async () => {
    const h = harness();
    await authenticated(h);
    h.send('PUB|a|x');
    h.send('PING');
    h.conversation.endOfInput();
    assert.equal(h.closed, false);
    h.link.publishes[0].done({ reason: RC.SUCCESS });
    assert.deepEqual(h.take(), ['OK\n', 'PONG\n']);
    assert.equal(h.closed, true);
  });

  it('stops reading while too many replies are outstanding, and resumes when they are out', async () => {
    const h = harness();
    await authenticated(h);
    for (let i = 0; i < 1001; i++) h.send('PUB|a|x');
    assert.equal(h.reading, false);
    for (const pub of h.link.publishes) pub.done({ reason: RC.SUCCESS });
    assert.equal(h.reading, true);
    assert.equal(h.take().length, 1001);
  });
});
