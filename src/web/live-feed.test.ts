import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEntry } from '../registry/model.js';
import type { Principal } from '../registry/permissions.js';
import type { DataPoint } from '../telemetry/model.js';
import { groupPoints, LiveFeed, type LiveStatsSource, type LiveViewer } from './live-feed.js';
import type { LiveMessage } from './live-protocol.js';

class Viewer implements LiveViewer {
  readonly frames: string[] = [];
  readonly droppable: boolean[] = [];
  constructor(
    readonly principal: Principal,
    readonly watch: ReadonlySet<string> | undefined = undefined,
  ) {}
  deliver(frame: string, droppable: boolean): void {
    this.frames.push(frame);
    this.droppable.push(droppable);
  }
  get messages(): LiveMessage[] {
    return this.frames.map((f) => JSON.parse(f) as LiveMessage);
  }
}

const point = (tenantId: string, seriesId: string, key: string, value: number, ts = 1000): DataPoint => ({
  tenantId,
  seriesId,
  key,
  ts,
  value,
});

function source(publishes: { count: number }): LiveStatsSource {
  return {
    publishesReceived: () => publishes.count,
    connections: (tenantId) => (tenantId === undefined ? 10 : tenantId === 'acme' ? 3 : 0),
    devicesOnline: (tenantId) => (tenantId === undefined ? 7 : tenantId === 'acme' ? 2 : 0),
  };
}

const acmeViewer = () => new Viewer({ role: 'viewer', tenantId: 'acme' });
const platformAdmin = () => new Viewer({ role: 'admin', tenantId: null });

describe('groupPoints', () => {
  it('makes one message per series and timestamp, keeping each value', () => {
    const groups = groupPoints([
      point('acme', 'd1', 'a', 1),
      point('acme', 'd1', 'b', 2),
      point('acme', 'd2', 'a', 3),
      point('acme', 'd1', 'a', 4, 2000),
      point('acme', 'd1', 'c', 5),
    ]);
    assert.deepEqual(
      groups.map((g) => ({ ...g, values: { ...g.values } })),
      [
        { tenantId: 'acme', deviceId: 'd1', ts: 1000, values: { a: 1, b: 2, c: 5 } },
        { tenantId: 'acme', deviceId: 'd2', ts: 1000, values: { a: 3 } },
        { tenantId: 'acme', deviceId: 'd1', ts: 2000, values: { a: 4 } },
      ],
    );
  });

  it('keeps a key named __proto__ as a value', () => {
    const [group] = groupPoints([point('acme', 'd1', '__proto__', 1)]);
    assert.equal(JSON.stringify(group.values), '{"__proto__":1}');
  });
});

describe('LiveFeed', () => {
  it('sends telemetry to viewers of its tenant and to platform admins, as droppable frames', () => {
    const feed = new LiveFeed(source({ count: 0 }));
    const [acme, globex, admin] = [
      acmeViewer(),
      new Viewer({ role: 'admin', tenantId: 'globex' }),
      platformAdmin(),
    ];
    for (const v of [acme, globex, admin]) feed.add(v);
    feed.telemetry([point('acme', 'd1', 't', 21.5)]);
    const expected = { type: 'telemetry', tenantId: 'acme', deviceId: 'd1', ts: 1000, values: { t: 21.5 } };
    assert.deepEqual(acme.messages, [expected]);
    assert.deepEqual(admin.messages, [expected]);
    assert.deepEqual(globex.messages, []);
    assert.deepEqual(acme.droppable, [true]);
    assert.equal(acme.frames[0], admin.frames[0], 'serialised once');
  });

  it('narrows telemetry to watched devices, but not presence', () => {
    const feed = new LiveFeed(source({ count: 0 }));
    const watching = new Viewer({ role: 'viewer', tenantId: 'acme' }, new Set(['d2']));
    feed.add(watching);
    feed.telemetry([point('acme', 'd1', 't', 1), point('acme', 'd2', 't', 2)]);
    feed.presence({ deviceId: 'd1', tenantId: 'acme', status: 'offline', at: 5, cause: 'lost' });
    assert.deepEqual(watching.messages, [
      { type: 'telemetry', tenantId: 'acme', deviceId: 'd2', ts: 1000, values: { t: 2 } },
      { type: 'presence', tenantId: 'acme', deviceId: 'd1', online: false, at: 5, cause: 'lost' },
    ]);
    assert.deepEqual(watching.droppable, [true, false]);
  });

  it("sends audit entries only to those who may read the entry's tenant", () => {
    const feed = new LiveFeed(source({ count: 0 }));
    const [acme, admin] = [acmeViewer(), platformAdmin()];
    feed.add(acme);
    feed.add(admin);
    const entry: AuditEntry = {
      id: 7,
      at: 5,
      tenantId: null,
      actorType: 'user',
      actor: 'admin',
      action: 'tenant.create',
      target: 'tenant:acme',
      address: null,
      outcome: 'success',
      details: {},
    };
    feed.audit(entry);
    feed.audit({ ...entry, id: 8, tenantId: 'acme', action: 'device.create' });
    assert.deepEqual(
      acme.messages.map((m) => m.type === 'audit' && m.entry.id),
      [8],
    );
    assert.deepEqual(
      admin.messages.map((m) => m.type === 'audit' && m.entry.id),
      [7, 8],
    );
  });

  it('computes per-second rates: broker-wide for platform admins, per tenant otherwise', () => {
    const publishes = { count: 100 };
    const feed = new LiveFeed(source(publishes));
    const [acme, globex, admin] = [
      acmeViewer(),
      new Viewer({ role: 'viewer', tenantId: 'globex' }),
      platformAdmin(),
    ];
    for (const v of [acme, globex, admin]) feed.add(v);
    feed.resetRates(10_000);
    publishes.count = 140;
    feed.telemetry([point('acme', 'd1', 'a', 1), point('acme', 'd1', 'b', 2)]);
    feed.telemetry([point('acme', 'd1', 'a', 1, 2000), point('globex', 'g1', 'a', 1)]);
    feed.tick(12_000);
    const stats = (v: Viewer) => v.messages.at(-1);
    assert.deepEqual(stats(admin), {
      type: 'stats',
      at: 12_000,
      messagesPerSecond: 20,
      pointsPerSecond: 2,
      devicesOnline: 7,
      connections: 10,
    });
    assert.deepEqual(stats(acme), {
      type: 'stats',
      at: 12_000,
      messagesPerSecond: 1,
      pointsPerSecond: 1.5,
      devicesOnline: 2,
      connections: 3,
    });
    assert.deepEqual(stats(globex), {
      type: 'stats',
      at: 12_000,
      messagesPerSecond: 0.5,
      pointsPerSecond: 0.5,
      devicesOnline: 0,
      connections: 0,
    });

    feed.tick(13_000);
    assert.equal((stats(acme) as { pointsPerSecond: number }).pointsPerSecond, 0, 'counts start afresh');
  });

  it('stops sending to a removed viewer', () => {
    const feed = new LiveFeed(source({ count: 0 }));
    const viewer = acmeViewer();
    feed.add(viewer);
    feed.remove(viewer);
    feed.telemetry([point('acme', 'd1', 't', 1)]);
    assert.equal(feed.size, 0);
    assert.deepEqual(viewer.frames, []);
  });
});
