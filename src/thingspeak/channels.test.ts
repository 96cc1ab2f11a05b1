import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openTestRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import { countRows } from '../../test/helpers/sqlite.js';
import { tempDir } from '../../test/helpers/temp-dir.js';
import { silentLogger } from '../core/logger.js';
import { SYSTEM_ACTOR, type Actor } from '../registry/service.js';
import type { DataPoint } from '../telemetry/model.js';
import { SqliteTelemetryStore } from '../telemetry/sqlite/telemetry-store.js';
import { Channels } from './channels.js';
import type { Identity } from '../broker/auth.js';
import { ChannelFeeds } from './mqtt-feeds.js';
import { SqliteChannelStore } from './sqlite/channel-store.js';

const T0 = 1_700_006_400_000;
const actor = (role: Actor['role'], tenantId: string | null = 'acme'): Actor => ({
  type: 'api-token',
  id: `u-${role}`,
  name: role,
  tenantId,
  role,
});
const admin = actor('admin');

describe('Channels', () => {
  let reg: TestRegistry;
  let store: SqliteChannelStore;
  let telemetry: SqliteTelemetryStore;
  let telemetryPath: string;
  let channels: Channels;
  let now: number;
  let sent: { topic: string; payload: string; tenantId: string }[];
  let feeds: ChannelFeeds;
  /** A connection subscribed to every channel topic. */
  const watcher = {} as Identity;

  beforeEach(async () => {
    reg = await openTestRegistry();
    await reg.registry.createTenant(SYSTEM_ACTOR, { id: 'acme', name: 'Acme' });
    await reg.registry.createTenant(SYSTEM_ACTOR, { id: 'globex', name: 'Globex' });
    await reg.registry.createDevice(SYSTEM_ACTOR, { tenantId: 'acme', id: 'dev1' });
    const dir = tempDir('halyard-channels-');
    store = SqliteChannelStore.open(join(dir, 'thingspeak.db'), { synchronous: 'normal' });
    telemetryPath = join(dir, 'telemetry.db');
    telemetry = SqliteTelemetryStore.open(telemetryPath, { synchronous: 'normal' });
    now = T0;
    sent = [];
    channels = new Channels({
      store,
      registry: reg.registry,
      telemetry,
      secretKey: reg.secretKey,
      notify: (channel, entry) => feeds.entryAdded(channel, entry),
      now: () => now,
      logger: silentLogger(),
    });
    feeds = new ChannelFeeds({
      channels,
      publish: (topic, payload, tenantId) => sent.push({ topic, payload: payload.toString(), tenantId }),
      disconnect: () => undefined,
      logger: silentLogger(),
    });
    feeds.subscribed(watcher, 'channels/+/subscribe/#');
  });
  afterEach(async () => {
    await channels.close();
    await store.close();
    await telemetry.close();
    await reg.close();
  });

  it('creates a channel with ThingSpeak defaults and keys of 16 [0-9A-Z]', async () => {
    const c = await channels.createChannel(admin, {});
    assert.equal(c.channel.name, 'My Channel');
    assert.equal(c.channel.fields.field1, 'Field Label 1');
    assert.equal(c.channel.fields.field2, null);
    assert.equal(c.channel.tenantId, 'acme');
    assert.match(c.writeKey, /^[0-9A-Z]{16}$/);
    assert.equal(c.readKeys.length, 1);
    assert.match(c.readKeys[0], /^[0-9A-Z]{16}$/);
    assert.deepEqual(await channels.resolveKey(c.writeKey), { channel: c.channel, kind: 'write' });
    assert.equal((await channels.resolveKey(c.readKeys[0]))?.kind, 'read');
    assert.equal(await channels.resolveKey('AAAAAAAAAAAAAAAA'), undefined);
  });

  it('updates by write key: entry ids, JSON notice, field notices, device telemetry', async () => {
    const c = await channels.createChannel(admin, {
      deviceId: 'dev1',
      fields: { field1: 'temperature', field2: 'switch' },
    });
    const out = await channels.update(
      c.writeKey,
      { fields: { field1: '21.5', field2: 'on' }, status: 'hi' },
      'rest',
    );
    assert.ok(out.ok);
    assert.equal(out.entry.entryId, 1);
    assert.equal((await channels.getChannelById(c.channel.id))?.lastEntryId, 1);
    const id = c.channel.id;
    assert.deepEqual(
      sent.map((s) => s.topic),
      [
        `channels/${id}/subscribe`,
        `channels/${id}/subscribe/fields/field1`,
        `channels/${id}/subscribe/fields/field2`,
      ],
    );
    assert.ok(sent.every((s) => s.tenantId === 'acme'));
    assert.equal(
      sent[0].payload,
      `{"channel_id":${id},"created_at":"2023-11-15T00:00:00Z","entry_id":1,"field1":"21.5","field2":"on",` +
        '"field3":null,"field4":null,"field5":null,"field6":null,"field7":null,"field8":null,' +
        '"latitude":null,"longitude":null,"elevation":null,"status":"hi"}',
    );
    assert.equal(sent[1].payload, '21.5');
    await channels.mirrored();
    const latest = await telemetry.latest('dev1');
    assert.deepEqual(latest, [
      { key: 'status', ts: T0, value: 'hi' },
      { key: 'switch', ts: T0, value: 'on' },
      { key: 'temperature', ts: T0, value: 21.5 },
    ]);
    now += 1000;
    const second = await channels.update(c.writeKey, { fields: { field1: '22' } }, 'mqtt');
    assert.ok(second.ok);
    assert.equal(second.entry.entryId, 2);
  });

  it('builds and sends no notices while no connection may subscribe to channel topics', async () => {
    const c = await channels.createChannel(admin, {});
    feeds.connectionEnded(watcher);
    const other = {} as Identity;
    feeds.subscribed(other, 'devices/+/telemetry');
    assert.ok((await channels.update(c.writeKey, { fields: { field1: '1' } }, 'rest')).ok);
    assert.equal(sent.length, 0);
    feeds.subscribed(other, `$share/g/channels/${c.channel.id}/subscribe`);
    assert.ok((await channels.update(c.writeKey, { fields: { field1: '2' } }, 'rest')).ok);
    assert.equal(sent[0]?.topic, `channels/${c.channel.id}/subscribe`);
  });

  it('gives updates arriving in the same millisecond distinct created_at times', async () => {
    const { writeKey, channel } = await channels.createChannel(admin, {});
    const outcomes = await Promise.all(
      [1, 2, 3].map((n) => channels.update(writeKey, { fields: { field1: String(n) } }, 'rest')),
    );
    assert.ok(
      outcomes.every((o) => o.ok),
      JSON.stringify(outcomes),
    );
    const times = (await channels.entries({ channelId: channel.id, limit: 10 })).map((e) => e.createdAt);
    assert.equal(new Set(times).size, 3);
  });

  it('keeps the updates of a channel without a device in the channel only, and moves its mirror mark', async () => {
    const c = await channels.createChannel(admin, {});
    assert.ok((await channels.update(c.writeKey, { fields: { field1: '7' }, status: 's' }, 'rest')).ok);
    await channels.mirrored();
    assert.equal(countRows(telemetryPath, 'series_keys'), 0);
    assert.equal(countRows(telemetryPath, 'latest'), 0);
    // Else every start would read this channel's entries again to recover a copy it never has.
    assert.deepEqual(await store.unmirroredEntries(10), []);
  });

  it('mirrors a device-bound channel under the field names into the device series', async () => {
    const c = await channels.createChannel(admin, { deviceId: 'dev1', fields: { field1: 'temperature' } });
    assert.ok((await channels.update(c.writeKey, { fields: { field1: '7' } }, 'rest')).ok);
    await channels.mirrored();
    assert.deepEqual(await telemetry.latest('dev1'), [{ key: 'temperature', ts: T0, value: 7 }]);
  });

  it('refuses read keys and unknown keys as bad-key', async () => {
    const c = await channels.createChannel(admin, {});
    for (const key of [c.readKeys[0], 'NOPE', undefined]) {
      const out = await channels.update(key, { fields: { field1: '1' } }, 'rest');
      assert.equal(out.ok ? 'ok' : out.reason, 'bad-key');
    }
  });

  it('validates values as ThingSpeak does', async () => {
    const c = await channels.createChannel(admin, {});
    const reason = async (input: Parameters<Channels['update']>[1]) => {
      const out = await channels.update(c.writeKey, input, 'rest');
      return out.ok ? 'ok' : out.reason;
    };
    assert.equal(await reason({ fields: {} }), 'invalid');
    assert.equal(await reason({ fields: { field1: 'x'.repeat(256) } }), 'invalid');
    assert.equal(await reason({ fields: {}, status: 'é'.repeat(128) }), 'invalid');
    // 255 bytes are counted, not characters: 86 three-byte characters are 258, 85 are 255.
    assert.equal(await reason({ fields: { field2: '€'.repeat(86) } }), 'invalid');
    assert.equal(await reason({ fields: { field2: '€'.repeat(85) }, createdAt: T0 - 7 }), 'ok');
    assert.equal(await reason({ fields: {}, latitude: 91 }), 'invalid');
    assert.equal(await reason({ fields: {}, longitude: -181 }), 'invalid');
    assert.equal(await reason({ fields: { field1: 'x'.repeat(255) }, createdAt: T0 - 5 }), 'ok');
    assert.equal(await reason({ fields: { field1: '1' }, createdAt: T0 - 5 }), 'invalid');
    assert.equal(await reason({ fields: {}, latitude: 45, longitude: 9 }), 'ok');
  });

  it('applies the minimum update interval to REST and MQTT together', async () => {
    const c = await channels.createChannel(admin, { minUpdateIntervalSeconds: 15 });
    const reason = async (via: 'rest' | 'mqtt') => {
      const out = await channels.update(c.writeKey, { fields: { field1: '1' }, createdAt: now }, via);
      return out.ok ? 'ok' : out.reason;
    };
    assert.equal(await reason('rest'), 'ok');
    now += 14_999;
    assert.equal(await reason('mqtt'), 'rate-limited');
    now += 1;
    assert.equal(await reason('mqtt'), 'ok');
    now += 15_000;
    const both = await Promise.all([reason('rest'), reason('mqtt')]);
    assert.deepEqual(both.sort(), ['ok', 'rate-limited']);
  });

  it('bulk-updates all or nothing, without MQTT notices', async () => {
    const c = await channels.createChannel(admin, {});
    assert.equal(await channels.bulkUpdate(c.channel.id + 1, c.writeKey, []), 'bad-key');
    const bad = await channels.bulkUpdate(c.channel.id, c.writeKey, [
      { fields: { field1: '1' } },
      { fields: {} },
    ]);
    assert.ok(Array.isArray(bad) && bad.every((o) => !o.ok));
    const ok = await channels.bulkUpdate(c.channel.id, c.writeKey, [
      { fields: { field1: '1' }, createdAt: T0 },
      { fields: { field1: '2' }, createdAt: T0 + 1000 },
    ]);
    assert.ok(Array.isArray(ok) && ok.every((o) => o.ok));
    assert.equal(sent.length, 0);
    assert.equal((await channels.lastEntry(c.channel.id))?.entryId, 2);
  });

  it("clear resets entry ids and keeps the device's telemetry; delete removes the channel", async () => {
    const c = await channels.createChannel(admin, { deviceId: 'dev1', fields: { field1: 'level' } });
    await channels.update(c.writeKey, { fields: { field1: '1' } }, 'rest');
    await channels.clearChannel(admin, c.channel.id);
    assert.deepEqual(await channels.entries({ channelId: c.channel.id, limit: 10 }), []);
    // The clear wrote the waiting copy first (without mirrored()), and left it in the device's telemetry.
    assert.deepEqual(await telemetry.latest('dev1'), [{ key: 'level', ts: T0, value: 1 }]);
    now += 1000;
    const again = await channels.update(c.writeKey, { fields: { field1: '2' } }, 'rest');
    assert.ok(again.ok && again.entry.entryId === 1);
    // The clear reset the mark: the new entry 1 waits for a copy of its own.
    assert.deepEqual(
      (await store.unmirroredEntries(10)).map((e) => e.createdAt),
      [T0 + 1000],
    );
    const deleted = await channels.deleteChannel(admin, c.channel.id);
    assert.equal(deleted.writeKey, c.writeKey);
    await channels.mirrored();
    assert.deepEqual(await telemetry.latest('dev1'), [{ key: 'level', ts: T0 + 1000, value: 2 }]);
    await assert.rejects(channels.getChannel(admin, c.channel.id), { code: 'NOT_FOUND' });
    assert.equal(await channels.resolveKey(c.writeKey), undefined);
  });

  it('lets admins and operators manage, viewers read, and hides other tenants', async () => {
    const c = await channels.createChannel(actor('operator'), { name: 'Lab', tags: ['x'] });
    await assert.rejects(channels.createChannel(actor('viewer'), {}), { code: 'NOT_AUTHORIZED' });
    const seen = await channels.getChannel(actor('viewer'), c.channel.id);
    assert.equal(seen.channel.name, 'Lab');
    // A viewer reads with the read keys; the write key is for those who may write.
    assert.deepEqual([seen.writeKey, seen.readKeys], ['', c.readKeys]);
    assert.deepEqual(
      (await channels.listChannels(actor('viewer'))).map((l) => [l.writeKey, l.readKeys]),
      [['', c.readKeys]],
    );
    assert.equal((await channels.getChannel(actor('admin'), c.channel.id)).writeKey, c.writeKey);
    await assert.rejects(channels.updateChannel(actor('viewer'), c.channel.id, { name: 'n' }), {
      code: 'NOT_AUTHORIZED',
    });
    const other = actor('admin', 'globex');
    await assert.rejects(channels.getChannel(other, c.channel.id), { code: 'NOT_FOUND' });
    await assert.rejects(channels.deleteChannel(other, c.channel.id), { code: 'NOT_FOUND' });
    await assert.rejects(channels.createChannel(admin, { deviceId: 'nope' }), { code: 'NOT_FOUND' });
    assert.deepEqual(await channels.listChannels(other), []);
    assert.equal((await channels.listChannels(admin, { tag: 'x' })).length, 1);
    const updated = await channels.updateChannel(admin, c.channel.id, {
      fields: { field2: 'hum' },
      publicFlag: true,
    });
    assert.equal(updated.channel.fields.field1, 'Field Label 1');
    assert.equal(updated.channel.fields.field2, 'hum');
    assert.equal(await channels.canRead(updated.channel, undefined), true);
    const platform = actor('admin', null);
    await assert.rejects(channels.createChannel(platform, {}), { code: 'INVALID_INPUT' });
    assert.equal((await channels.createChannel(platform, { tenantId: 'globex' })).channel.tenantId, 'globex');
  });

  it('lets only its keys read a private channel', async () => {
    const a = await channels.createChannel(admin, {});
    const b = await channels.createChannel(admin, {});
    assert.equal(await channels.canRead(a.channel, a.readKeys[0]), true);
    assert.equal(await channels.canRead(a.channel, a.writeKey), true);
    assert.equal(await channels.canRead(a.channel, b.readKeys[0]), false);
    assert.equal(await channels.canRead(a.channel, undefined), false);
  });
});

describe('Channels after a crash', () => {
  it('mirrors the entries whose mirror was never written, writing only the points that are missing', async () => {
    const reg = await openTestRegistry();
    await reg.registry.createTenant(SYSTEM_ACTOR, { id: 'acme', name: 'Acme' });
    await reg.registry.createDevice(SYSTEM_ACTOR, { tenantId: 'acme', id: 'dev1' });
    const dir = tempDir('halyard-channels-');
    const store = SqliteChannelStore.open(join(dir, 'thingspeak.db'));
    const telemetry = SqliteTelemetryStore.open(join(dir, 'telemetry.db'));
    const open = (writePoints?: (points: DataPoint[]) => Promise<void>) =>
      new Channels({
        store,
        registry: reg.registry,
        telemetry,
        secretKey: reg.secretKey,
        now: () => T0,
        logger: silentLogger(),
        writePoints,
      });
    try {
      // The process that "dies": its mirror batch is taken but never written.
      const dying = open(() => new Promise<void>(() => undefined));
      const own = await dying.createChannel(admin, {});
      const bound = await dying.createChannel(admin, { deviceId: 'dev1', fields: { field1: 'flag' } });
      // The device's own telemetry, already in the store (a boolean: recovery must not rewrite it as text).
      await telemetry.write([{ tenantId: 'acme', seriesId: 'dev1', key: 'flag', ts: T0 + 5, value: true }]);
      await dying.appendDeviceEntries(bound.channel, [{ fields: { field1: 'true' }, createdAt: T0 + 5 }]);
      for (let i = 1; i <= 3; i++) {
        const u = await dying.update(
          own.writeKey,
          { fields: { field1: String(i) }, createdAt: T0 + i },
          'rest',
        );
        assert.ok(u.ok);
      }
      const b = await dying.update(bound.writeKey, { fields: { field1: '7' }, createdAt: T0 + 9 }, 'rest');
      assert.ok(b.ok);
      void dying.mirrored(); // the batch starts, and hangs
      assert.deepEqual(await telemetry.latest('dev1'), [{ key: 'flag', ts: T0 + 5, value: true }]);

      const restarted = open();
      // The bound channel's update; the other channel's three have no copy, only marks to move.
      assert.equal(await restarted.recoverMirror(), 1);
      const dev = await telemetry.query({ seriesId: 'dev1', keys: ['flag'], from: T0, to: T0 + 10 });
      assert.deepEqual(
        dev.points.map((p) => [p.ts - T0, p.value]),
        [
          [5, true],
          [9, 7],
        ],
      );
      assert.deepEqual(await store.unmirroredEntries(10), [], 'the marks moved: nothing left to recover');
      assert.equal(await restarted.recoverMirror(), 0);
      await restarted.close();
    } finally {
      await store.close();
      await telemetry.close();
      await reg.close();
    }
  });
});
