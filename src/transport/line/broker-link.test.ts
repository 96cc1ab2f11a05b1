import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ClientView, Identity } from '../../broker/auth.js';
import { Broker } from '../../broker/broker.js';
import { RC } from '../../broker/reason-codes.js';
import { silentLogger } from '../../core/logger.js';
import { MemoryBrokerStore } from '../../store/memory-store.js';
import { BrokerLink, type BrokerLinkEvents, type LinkAck } from './broker-link.js';

/** A tenant device that may do anything but touch `secret/…`. */
const identity: Identity = {
  name: 'device:d1',
  anonymous: false,
  mountPoint: '$t/acme/',
  sessionScope: 'scope:d1/',
  canPublish: (topic) => !topic.startsWith('secret'),
  canSubscribe: (filter) => !filter.startsWith('secret'),
};

interface Received {
  topic: string;
  payload: string;
}

function recorder() {
  const messages: Received[] = [];
  const ends: (number | undefined)[] = [];
  let waiter: (() => void) | undefined;
  const events: BrokerLinkEvents = {
    onMessage: (topic, payload, ack) => {
      messages.push({ topic, payload: payload.toString() });
      ack();
      waiter?.();
    },
    onEnd: (reason) => {
      ends.push(reason);
      waiter?.();
    },
  };
  const until = (done: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error('timed out')), 5000);
      const check = () => {
        if (!done()) return;
        clearTimeout(guard);
        resolve();
      };
      waiter = check;
      check();
    });
  return { events, messages, ends, until };
}

/** Checks `condition` after each turn of the event loop until it holds; fails after 5 s. */
async function eventually(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail('condition not met within 5 s');
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

const ack = (call: (done: (a: LinkAck) => void) => void) => new Promise<LinkAck>((resolve) => call(resolve));

describe('BrokerLink', () => {
  let broker: Broker;
  const connected: ClientView[] = [];
  before(async () => {
    broker = new Broker({
      store: new MemoryBrokerStore(),
      authenticator: {
        authenticate: () => Promise.reject(new Error('the link must not be authenticated again')),
      },
      observer: { clientConnected: (c) => connected.push(c), clientDisconnected: () => undefined },
      publishHook: {
        onPublish: (_identity, topic) =>
          topic === 'devices/me/telemetry'
            ? { refuse: { reason: RC.PAYLOAD_FORMAT_INVALID, message: 'bad' } }
            : undefined,
      },
      logger: silentLogger(),
      options: { sysInterval: 0, receiveMaximum: 2 },
    });
    await broker.start();
  });
  after(() => broker.close());

  async function open(events: BrokerLinkEvents): Promise<BrokerLink> {
    const opened = await BrokerLink.open({
      sink: broker,
      identity,
      clientId: BrokerLink.clientId(),
      maxPacketSize: broker.options.maxPacketSize,
      info: { listener: 'line', remoteAddress: '192.0.2.7' },
      events,
    });
    assert.ok(opened.ok);
    return opened.link;
  }

  it('is a client of the broker with the identity it was given, seen by the connection observer', async () => {
    const link = await open(recorder().events);
    const view = connected.at(-1);
    assert.equal(view?.identity, identity);
    assert.equal(view?.listener, 'line');
    assert.equal(view?.remoteAddress, '192.0.2.7');
    assert.match(view?.clientId ?? '', /^scope:d1\/line-/);
    link.close();
  });

  it('publishes inside the mount point, subscribes, and gets the broker answers', async () => {
    const sub = recorder();
    const subscriber = await open(sub.events);
    const publisher = await open(recorder().events);
    assert.equal((await ack((d) => subscriber.subscribe('a/#', d))).reason, 1);
    assert.equal((await ack((d) => publisher.publish('a/b', Buffer.from('x'), 1, d))).reason, RC.SUCCESS);
    assert.equal(
      (await ack((d) => publisher.publish('z', Buffer.from('x'), 1, d))).reason,
      RC.NO_MATCHING_SUBSCRIBERS,
    );
    await sub.until(() => sub.messages.length === 1);
    assert.deepEqual(sub.messages, [{ topic: 'a/b', payload: 'x' }]);
    assert.equal(
      (await ack((d) => publisher.publish('secret/x', Buffer.from('x'), 1, d))).reason,
      RC.NOT_AUTHORIZED,
    );
    assert.equal((await ack((d) => subscriber.subscribe('secret/#', d))).reason, RC.NOT_AUTHORIZED);
    const refused = await ack((d) => publisher.publish('devices/me/telemetry', Buffer.from('x'), 1, d));
    assert.deepEqual(refused, { reason: RC.PAYLOAD_FORMAT_INVALID, reasonString: 'bad' });
    assert.equal((await ack((d) => subscriber.unsubscribe('a/#', d))).reason, RC.SUCCESS);
    assert.equal((await ack((d) => subscriber.unsubscribe('a/#', d))).reason, RC.NO_SUBSCRIPTION_EXISTED);
    subscriber.close();
    publisher.close();
  });

  it("stays within the broker's Receive Maximum however many publishes are asked for at once", async () => {
    const link = await open(recorder().events);
    const acks = await Promise.all(
      Array.from({ length: 50 }, (_, i) => ack((d) => link.publish('n', Buffer.from(String(i)), 1, d))),
    );
    assert.ok(acks.every((a) => a.reason < 0x80));
    link.close();
  });

  it('hears when the broker ends the session, and fails what was still waiting', async () => {
    const rec = recorder();
    const link = await open(rec.events);
    const kicked = broker.disconnectWhere((i) => i === identity);
    assert.ok(kicked >= 1);
    await rec.until(() => rec.ends.length === 1);
    assert.deepEqual(rec.ends, [RC.ADMINISTRATIVE_ACTION]);
    assert.equal((await ack((d) => link.publish('a', Buffer.from('x'), 1, d))).reason, RC.UNSPECIFIED_ERROR);
  });

  it('close() ends the session normally', async () => {
    const before = broker.connectedCount();
    const link = await open(recorder().events);
    assert.equal(broker.connectedCount(), before + 1);
    link.close();
    // The broker's side closes once it has read the DISCONNECT.
    await eventually(() => broker.connectedCount() === before);
  });
});
