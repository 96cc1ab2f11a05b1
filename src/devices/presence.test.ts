import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientView } from '../broker/auth.js';
import { TopicAcl } from './acl.js';
import { DeviceIdentity, UserIdentity } from './identities.js';
import { nextPresence, PresenceTracker, type PresenceChange } from './presence.js';

const acl = TopicAcl.compile([{ action: 'all', topic: '#' }], { clientId: '' });
const device = (id: string) => new DeviceIdentity(id, 'acme', null, 'cred-1', acl, undefined);
const view = (identity: DeviceIdentity | UserIdentity, clientId: string): ClientView => ({
  clientId,
  identity,
  listener: 'mqtt',
  remoteAddress: '127.0.0.1',
});

describe('presence state machine', () => {
  it('goes online with the first connection and offline with the last', () => {
    let step = nextPresence(undefined, { type: 'connect', sessionKey: 'a', at: 10 });
    assert.deepEqual([step.next.status, step.changed, step.next.since], ['online', true, 10]);
    step = nextPresence(step.next, { type: 'connect', sessionKey: 'b', at: 20 });
    assert.deepEqual([step.next.status, step.changed, step.next.since], ['online', false, 10]);
    step = nextPresence(step.next, { type: 'disconnect', sessionKey: 'a', at: 30, cause: 'client' });
    assert.deepEqual([step.next.status, step.changed, step.next.lastSeen], ['online', false, 30]);
    step = nextPresence(step.next, { type: 'disconnect', sessionKey: 'b', at: 40, cause: 'keep-alive' });
    assert.deepEqual([step.next.status, step.changed, step.next.since], ['offline', true, 40]);
  });

  it('stays online through a takeover of the same session key (connect comes before the old disconnect)', () => {
    let step = nextPresence(undefined, { type: 'connect', sessionKey: 'a', at: 1 });
    step = nextPresence(step.next, { type: 'connect', sessionKey: 'a', at: 2 });
    step = nextPresence(step.next, { type: 'disconnect', sessionKey: 'a', at: 3, cause: 'taken-over' });
    assert.equal(step.next.status, 'online');
    assert.equal(step.changed, false);
  });

  it('does not return the input state mutated', () => {
    const first = nextPresence(undefined, { type: 'connect', sessionKey: 'a', at: 1 }).next;
    nextPresence(first, { type: 'disconnect', sessionKey: 'a', at: 2, cause: 'lost' });
    assert.equal(first.connections.get('a'), 1);
  });
});

describe('PresenceTracker', () => {
  it('emits one change per status change, with the cause of going offline', () => {
    let now = 100;
    const tracker = new PresenceTracker(() => now);
    const changes: PresenceChange[] = [];
    tracker.on('change', (c) => changes.push(c));
    const d1 = device('d1');
    tracker.clientConnected(view(d1, 'k1'));
    tracker.clientConnected(view(d1, 'k2'));
    assert.equal(tracker.isOnline('d1'), true);
    assert.equal(tracker.onlineCount(), 1);
    now = 200;
    tracker.clientDisconnected(view(d1, 'k1'), 'client');
    tracker.clientDisconnected(view(d1, 'k2'), 'keep-alive');
    assert.equal(tracker.isOnline('d1'), false);
    assert.deepEqual(changes, [
      { deviceId: 'd1', tenantId: 'acme', status: 'online', at: 100, cause: 'connect' },
      { deviceId: 'd1', tenantId: 'acme', status: 'offline', at: 200, cause: 'keep-alive' },
    ]);
  });

  it('ignores people and config users (they are not devices)', () => {
    const tracker = new PresenceTracker();
    const changes: PresenceChange[] = [];
    tracker.on('change', (c) => changes.push(c));
    tracker.clientConnected(view(new UserIdentity('u1', 'alice', 'acme', 'operator', acl), 'c'));
    assert.equal(changes.length, 0);
    assert.equal(tracker.onlineCount(), 0);
  });
});
