import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Message } from '../broker/message.js';
import { isHalyardError } from '../core/errors.js';
import type { BrokerState, BrokerStore, StoredOutbound, StoredSession, StoreOp } from './broker-store.js';

/**
 * The behaviour every BrokerStore must show, run against each implementation
 * (memory, SQLite, later PostgreSQL). `open` gives a fresh, empty store; `reopen`,
 * when given, opens the same data again after the store has been closed.
 * A store that exposes a numeric `commits` counter also gets its batching counted.
 */
export interface OpenedBrokerStore {
  store: BrokerStore;
  reopen?: () => Promise<BrokerStore>;
}

export function describeBrokerStoreConformance(name: string, open: () => Promise<OpenedBrokerStore>): void {
  describe(`BrokerStore conformance: ${name}`, () => {
    let store: BrokerStore;
    let reopen: (() => Promise<BrokerStore>) | undefined;
    beforeEach(async () => ({ store, reopen } = await open()));
    afterEach(() => store.close());

    const commit = (ops: StoreOp[]) => submitted(store, ops);

    it('loads an empty state from a new store', async () => {
      assert.deepEqual(await store.load(), {
        sessions: [],
        outbound: [],
        inbound: [],
        retained: [],
        maxSeq: 0,
      });
    });

    it('puts, replaces and deletes sessions with their subscriptions', async () => {
      const a = session('a');
      const b: StoredSession = { ...session('b'), disconnectedAt: 1_700_000_000_123, protocolVersion: 4 };
      await commit([sesPut(a), sesPut(b)]);
      assert.deepStrictEqual(sortBy((await store.load()).sessions, 'clientId'), [a, b]);
      const a2: StoredSession = { ...a, expiryInterval: 0xffffffff, subscriptions: [] };
      await commit([sesPut(a2), sesDel('b')]);
      assert.deepStrictEqual((await store.load()).sessions, [a2]);
    });

    it('puts, updates and deletes outbound entries and loads them ordered by seq', async () => {
      const entries = [outbound('c1', 3), outbound('c2', 1), outbound('c1', 2), outbound('c2', 10)];
      await commit(entries.map(outPut));
      assert.deepStrictEqual((await store.load()).outbound, sortBy(entries, 'seq'));
      await commit([
        { op: 'outbound.update', clientId: 'c1', seq: 2, state: 'publish-sent', packetId: 7 },
        { op: 'outbound.update', clientId: 'c2', seq: 1, state: 'pubrec-received', packetId: 8 },
        outDel('c2', 10),
        { op: 'outbound.update', clientId: 'nobody', seq: 99, state: 'publish-sent', packetId: 1 },
        outDel('nobody', 98),
      ]);
      const { outbound: loaded } = await store.load();
      const summary = loaded.map((e) => `${e.clientId}/${e.seq}/${e.state}/${e.packetId}`);
      assert.deepEqual(summary, ['c2/1/pubrec-received/8', 'c1/2/publish-sent/7', 'c1/3/queued/undefined']);
      // The update op carries the whole delivery state: leaving packetId out clears it.
      await commit([{ op: 'outbound.update', clientId: 'c1', seq: 2, state: 'queued' }]);
      assert.equal('packetId' in (await store.load()).outbound[1], false);
    });

    it('round-trips messages exactly, in outbound entries and as retained', async () => {
      const messages = sampleMessages();
      const entries = messages.map((m, i) => ({
        ...outbound('c', i + 1, m),
        subscriptionIdentifiers: [i + 1, 42],
      }));
      await commit([...entries.map(outPut), ...messages.map(retPut)]);
      const state = await store.load();
      assert.deepStrictEqual(state.outbound, entries);
      assert.deepStrictEqual(sortBy(state.retained, 'topic'), sortBy(messages, 'topic'));
      for (const m of state.retained) assert.ok(Buffer.isBuffer(m.payload));
    });

    it('puts, replaces and deletes retained messages by topic', async () => {
      await commit([retPut(msg('t/1', 'one')), retPut(msg('t/2', 'two'))]);
      await commit([retPut(msg('t/1', 'uno')), retDel('t/2'), retDel('never/there')]);
      assert.deepStrictEqual((await store.load()).retained, [msg('t/1', 'uno')]);
    });

    it('puts (idempotently) and deletes inbound QoS 2 packet ids', async () => {
      await commit([inPut('a', 1), inPut('a', 1), inPut('a', 65535), inPut('b', 1)]);
      await commit([inDel('a', 65535)]);
      assert.deepStrictEqual(sortInbound((await store.load()).inbound), [
        { clientId: 'a', packetId: 1 },
        { clientId: 'b', packetId: 1 },
      ]);
    });

    it('applies ops in order, within a submit and across submits of one turn', async () => {
      const both = Promise.all([
        submitted(store, [
          retPut(msg('gone', 'x')),
          retDel('gone'),
          retDel('kept'),
          retPut(msg('kept', 'x')),
          outPut(outbound('c', 1)),
        ]),
        submitted(store, [outDel('c', 1), inPut('c', 5)]),
        submitted(store, [inDel('c', 5)]),
      ]);
      await both;
      const state = await store.load();
      assert.deepEqual(
        state.retained.map((m) => m.topic),
        ['kept'],
      );
      assert.deepEqual(state.outbound, []);
      assert.deepEqual(state.inbound, []);
    });

    it('deletes a session together with its outbound entries and inbound ids', async () => {
      await commit([
        sesPut(session('a')),
        sesPut(session('b')),
        outPut(outbound('a', 1)),
        outPut(outbound('b', 2)),
        inPut('a', 3),
        inPut('b', 4),
      ]);
      await commit([sesDel('a')]);
      const state = await store.load();
      assert.deepEqual(
        [state.sessions.map((s) => s.clientId), state.outbound.map((e) => e.clientId), state.inbound],
        [['b'], ['b'], [{ clientId: 'b', packetId: 4 }]],
      );
    });

    it('calls done asynchronously, once the ops are committed', async () => {
      let called = false;
      const seen = new Promise<BrokerState>((resolve, reject) =>
        store.submit([retPut(msg('t', 'v'))], (err) => {
          called = true;
          if (err) reject(err);
          else store.load().then(resolve, reject);
        }),
      );
      assert.equal(called, false, 'done must not run inside submit');
      assert.deepStrictEqual((await seen).retained, [msg('t', 'v')]);
    });

    it('commits everything submitted in one turn together, calling back in submit order', async () => {
      const counter = store as unknown as { commits?: unknown };
      const before = typeof counter.commits === 'number' ? counter.commits : undefined;
      const order: number[] = [];
      let sameTask = true;
      const all = [1, 2, 3, 4, 5].map((i) => submitted(store, [inPut('c', i)]));
      // Callbacks of one commit run back to back: no microtask queued by the first runs before the last.
      [1, 2, 3, 4, 5].forEach((i) =>
        store.submit([], () => {
          if (i === 1) queueMicrotask(() => (sameTask = order.length === 5));
          order.push(i);
        }),
      );
      await Promise.all(all);
      await store.flush();
      assert.deepEqual(order, [1, 2, 3, 4, 5]);
      assert.equal(sameTask, true, 'callbacks of one turn were spread over several tasks');
      if (before !== undefined) assert.equal(counter.commits, before + 1);
    });

    it('flush commits pending ops and their callbacks have run when it resolves', async () => {
      let called = false;
      store.submit([inPut('c', 1)], () => (called = true));
      await store.flush();
      assert.equal(called, true);
      await store.flush(); // nothing pending: still fine
    });

    it('keeps maxSeq at the highest seq ever written, even after deletes', async () => {
      await commit([outPut(outbound('a', 5)), outPut(outbound('a', 9)), outPut(outbound('b', 7))]);
      assert.equal((await store.load()).maxSeq, 9);
      await commit([outDel('a', 9), sesDel('b')]);
      assert.equal((await store.load()).maxSeq, 9);
      if (!reopen) return;
      await store.close();
      store = await reopen();
      assert.equal((await store.load()).maxSeq, 9);
    });

    it('fails submits after close with STORE_FAILURE', async () => {
      await store.close();
      const err = await new Promise<Error | undefined>((resolve) => store.submit([], resolve));
      assert.ok(isHalyardError(err, 'STORE_FAILURE'), `expected STORE_FAILURE, got ${String(err)}`);
    });

    it('hands out copies: changing loaded state does not change the store', async () => {
      await commit([sesPut(session('a')), retPut(sampleMessages()[0])]);
      const first = await store.load();
      first.sessions[0].subscriptions.length = 0;
      first.retained[0].payload.fill(0);
      first.retained[0].properties!.userProperties!.added = 'x';
      const again = await store.load();
      assert.deepStrictEqual(again.sessions, [session('a')]);
      assert.deepStrictEqual(again.retained, [sampleMessages()[0]]);
    });

    it('keeps all state across close and reopen', async (t) => {
      if (!reopen) return t.skip('store is not durable');
      await commit([
        sesPut(session('a')),
        ...sampleMessages().map((m, i): StoreOp => outPut(outbound('a', i + 1, m))),
        inPut('a', 9),
        ...sampleMessages().map(retPut),
      ]);
      store.submit([inPut('a', 10)]); // not yet committed: close flushes it
      const expected = await store.load();
      await store.close();
      store = await reopen();
      assert.deepStrictEqual(await store.load(), expected);
      assert.equal(expected.inbound.length, 2);
    });
  });
}

function submitted(store: BrokerStore, ops: StoreOp[]): Promise<void> {
  return new Promise((resolve, reject) => store.submit(ops, (err) => (err ? reject(err) : resolve())));
}

const inPut = (clientId: string, packetId: number): StoreOp => ({ op: 'inbound.put', clientId, packetId });
const inDel = (clientId: string, packetId: number): StoreOp => ({ op: 'inbound.delete', clientId, packetId });
const retPut = (message: Message): StoreOp => ({ op: 'retained.put', message });
const retDel = (topic: string): StoreOp => ({ op: 'retained.delete', topic });
const outPut = (entry: StoredOutbound): StoreOp => ({ op: 'outbound.put', entry });
const sesPut = (session: StoredSession): StoreOp => ({ op: 'session.put', session });
const sesDel = (clientId: string): StoreOp => ({ op: 'session.delete', clientId });
const outDel = (clientId: string, seq: number): StoreOp => ({ op: 'outbound.delete', clientId, seq });

function msg(topic: string, payload: string): Message {
  return { topic, payload: Buffer.from(payload), qos: 1, retain: true, origin: 'pub' };
}

function session(clientId: string): StoredSession {
  return {
    clientId,
    expiryInterval: 3600,
    protocolVersion: 5,
    subscriptions: [
      { filter: 'a/+/c', qos: 1, noLocal: true, retainAsPublished: false, retainHandling: 2 },
      { filter: 's/#', shareGroup: 'g', qos: 2, noLocal: false, retainAsPublished: true, retainHandling: 0 },
      {
        filter: '#',
        qos: 0,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 1,
        subscriptionIdentifier: 9,
      },
    ],
  };
}

function outbound(clientId: string, seq: number, message = msg(`to/${clientId}`, `m${seq}`)): StoredOutbound {
  return { seq, clientId, message, qos: message.qos, retain: false, state: 'queued' };
}

/** Messages covering every optional part: binary payloads, all MQTT 5 properties, none at all. */
function sampleMessages(): Message[] {
  return [
    {
      topic: 'full',
      payload: Buffer.from([0, 1, 2, 255, 0]),
      qos: 2,
      retain: true,
      properties: {
        payloadFormatIndicator: true,
        contentType: 'application/json',
        responseTopic: 'reply/here',
        correlationData: Buffer.from([0xde, 0xad, 0, 0xbe, 0xef]),
        userProperties: { single: 'v', multi: ['x', 'y', ''] },
      },
      expiresAt: 1_900_000_000_000,
      origin: 'publisher-1',
    },
    { topic: 'bare', payload: Buffer.alloc(0), qos: 0, retain: false, origin: '' },
    { topic: 'empty-props', payload: Buffer.from('p'), qos: 1, retain: false, properties: {}, origin: 'x' },
    {
      topic: 'only-correlation',
      payload: Buffer.from('ü€'),
      qos: 1,
      retain: true,
      properties: { correlationData: Buffer.alloc(0) },
      origin: 'y',
    },
  ];
}

function sortBy<T, K extends keyof T>(items: T[], key: K): T[] {
  return [...items].sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0));
}

function sortInbound(ids: BrokerState['inbound']): BrokerState['inbound'] {
  return [...ids].sort((a, b) => a.clientId.localeCompare(b.clientId) || a.packetId - b.packetId);
}
