import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { Identity } from '../broker/auth.js';
import type { Broker } from '../broker/broker.js';
import { silentLogger } from '../core/logger.js';
import type { RegistryEvents, RegistryService, SignedInWith } from '../registry/service.js';
import { TopicAcl } from './acl.js';
import { UserIdentity } from './identities.js';
import type { PresenceTracker } from './presence.js';
import { bridgeRegistryToBroker } from './registry-bridge.js';

const person = (username: string, signedInWith?: SignedInWith) =>
  new UserIdentity(
    `u-${username}`,
    username,
    'acme',
    'operator',
    TopicAcl.compile([{ action: 'all', topic: '#' }], { clientId: username }),
    signedInWith,
  );

/** A broker holding `identities`; disconnectWhere closes (removes) the matching ones and reports them. */
function fakeBroker(identities: Identity[]) {
  const closed: string[] = [];
  let onClose: () => void = () => undefined;
  const broker = {
    disconnectWhere(matches: (identity: Identity) => boolean) {
      const hit = identities.filter(matches);
      for (const identity of hit) identities.splice(identities.indexOf(identity), 1);
      closed.push(...hit.map((i) => i.name));
      if (hit.length > 0) onClose();
      return hit.length;
    },
    publish: () => undefined,
  } as unknown as Broker;
  /** Resolves at the next closing; fails after a second. */
  const nextClose = () =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('nothing was closed')), 1000);
      onClose = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  return { broker, closed, nextClose };
}

function bridge(identities: Identity[], now = () => Date.now()) {
  const registry = Object.assign(new EventEmitter<RegistryEvents>(), {
    recordLastSeen: () => Promise.resolve(),
  }) as unknown as RegistryService & EventEmitter<RegistryEvents>;
  const presence = { on: () => undefined, off: () => undefined } as unknown as PresenceTracker;
  const fake = fakeBroker(identities);
  const running = bridgeRegistryToBroker({
    registry,
    broker: fake.broker,
    presence,
    logger: silentLogger(),
    lastSeenFlushMs: 5,
    now,
  });
  return { registry, ...fake, close: () => running.close() };
}

describe('registry bridge: people signed in with a token', () => {
  it('closes the connections of a session or API token that ended, and no others', async () => {
    const session = { kind: 'session', tokenHash: 'a'.repeat(64), expiresAt: Date.now() + 60_000 } as const;
    const other = { kind: 'api-token', tokenHash: 'b'.repeat(64), expiresAt: null } as const;
    const identities = [person('ada', session), person('bo', other), person('cy'), person('ada-2', session)];
    const b = bridge(identities);
    try {
      b.registry.emit('token.ended', { userId: 'u-ada', tokenHash: session.tokenHash });
      assert.deepEqual(b.closed, ['user:ada', 'user:ada-2']);
      b.registry.emit('token.ended', { userId: 'u-zed', tokenHash: 'c'.repeat(64) });
      assert.deepEqual(b.closed, ['user:ada', 'user:ada-2']);
    } finally {
      await b.close();
    }
  });

  it('closes a connection when its session expires, never one without an expiry', async () => {
    let clock = Date.now();
    const expiring = { kind: 'session', tokenHash: 'd'.repeat(64), expiresAt: clock + 60_000 } as const;
    const forever = { kind: 'api-token', tokenHash: 'e'.repeat(64), expiresAt: null } as const;
    const b = bridge([person('dee', expiring), person('eve', forever), person('fay')], () => clock);
    try {
      const closing = b.nextClose();
      clock += 60_000;
      await closing;
      assert.deepEqual(b.closed, ['user:dee']);
    } finally {
      await b.close();
    }
  });
});
