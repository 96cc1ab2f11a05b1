import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientView } from '../broker/auth.js';
import { RC } from '../broker/reason-codes.js';
import { TopicAcl } from './acl.js';
import { ConnectionLedger, PublishQuota } from './connection-ledger.js';
import { DeviceIdentity } from './identities.js';

const acl = TopicAcl.compile([{ action: 'all', topic: '#' }], { clientId: '' });
const view = (deviceId: string, tenantId: string, clientId: string): ClientView => ({
  clientId,
  identity: new DeviceIdentity(deviceId, tenantId, null, 'c', acl, undefined),
  listener: 'mqtt',
  remoteAddress: '127.0.0.1',
});

describe('ConnectionLedger', () => {
  it('counts live connections per tenant and device and knows which session keys are held', () => {
    const ledger = new ConnectionLedger();
    ledger.clientConnected(view('d1', 'a', 'k1'));
    ledger.clientConnected(view('d1', 'a', 'k2'));
    ledger.clientConnected(view('d2', 'b', 'k1'));
    assert.equal(ledger.tenantConnections('a'), 2);
    assert.equal(ledger.tenantConnections('b'), 1);
    assert.equal(ledger.deviceConnections('d1'), 2);
    assert.equal(ledger.holdsSession('d1', 'k2'), true);
    assert.equal(ledger.holdsSession('d2', 'k2'), false);
    ledger.clientDisconnected(view('d1', 'a', 'k2'));
    assert.equal(ledger.deviceConnections('d1'), 1);
    assert.equal(ledger.holdsSession('d1', 'k2'), false);
    ledger.clientDisconnected(view('d1', 'a', 'k1'));
    assert.equal(ledger.tenantConnections('a'), 0);
    assert.equal(ledger.deviceConnections('d1'), 0);
  });

  it('shares one publish quota between the connections of a device', () => {
    const ledger = new ConnectionLedger();
    const limits = { messagesPerSecond: 2, bytesPerSecond: 0 };
    const first = ledger.quotaFor('d1', limits);
    const connected = view('d1', 'a', 'k1');
    ledger.clientConnected({
      ...connected,
      identity: new DeviceIdentity('d1', 'a', null, 'c', acl, first),
    });
    assert.equal(ledger.quotaFor('d1', limits), first);
    assert.equal(ledger.quotaFor('d9', { messagesPerSecond: 0, bytesPerSecond: 0 }), undefined);
  });
});

describe('PublishQuota', () => {
  it('answers 0x96 past the message rate and 0x97 past the byte rate, and refills with time', () => {
    const quota = new PublishQuota({ messagesPerSecond: 2, bytesPerSecond: 100 });
    assert.equal(quota.admit(10, 0), 0);
    assert.equal(quota.admit(10, 0), 0);
    assert.equal(quota.admit(10, 0), RC.MESSAGE_RATE_TOO_HIGH);
    assert.equal(quota.admit(10, 1000), 0); // a second later: two more messages
    const bytes = new PublishQuota({ messagesPerSecond: 0, bytesPerSecond: 100 });
    assert.equal(bytes.admit(80, 0), 0);
    assert.equal(bytes.admit(80, 0), RC.QUOTA_EXCEEDED);
    assert.equal(bytes.admit(80, 800), 0);
  });
});
