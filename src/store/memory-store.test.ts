import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeBrokerStoreConformance } from './broker-store.suite.js';
import { MemoryBrokerStore } from './memory-store.js';

describeBrokerStoreConformance('memory', () => Promise.resolve({ store: new MemoryBrokerStore() }));

describe('MemoryBrokerStore', () => {
  it('copies what it is given: mutating a submitted message after commit changes nothing', async () => {
    const store = new MemoryBrokerStore();
    const message = { topic: 't', payload: Buffer.from('abc'), qos: 1 as const, retain: true, origin: '' };
    store.submit([{ op: 'retained.put', message }]);
    await store.flush();
    message.payload.fill(0);
    assert.deepEqual((await store.load()).retained[0].payload, Buffer.from('abc'));
  });
});
