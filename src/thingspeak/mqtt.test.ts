import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openTestRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import { tempDir } from '../../test/helpers/temp-dir.js';
import type { Identity } from '../broker/auth.js';
import type { PublishHookResult } from '../broker/publish-hook.js';
import { RC } from '../broker/reason-codes.js';
import { silentLogger } from '../core/logger.js';
import { TopicAcl } from '../devices/acl.js';
import { DeviceIdentity, UserIdentity } from '../devices/identities.js';
import { SYSTEM_ACTOR, type Actor } from '../registry/service.js';
import { SqliteTelemetryStore } from '../telemetry/sqlite/telemetry-store.js';
import { Channels } from './channels.js';
import type { ChannelWithKeys } from './service.js';
import { parseCreatedAt, parseFeedPayload, thingSpeakPublishHook } from './mqtt.js';
import { SqliteChannelStore } from './sqlite/channel-store.js';

const acl = TopicAcl.compile([{ action: 'all', topic: '#' }], { clientId: '' });
const device = (id: string, tenant = 'acme') => new DeviceIdentity(id, tenant, null, 'cred', acl, undefined);
const user = (role: 'admin' | 'operator' | 'viewer', tenant = 'acme') =>
  new UserIdentity(`u-${role}`, role, tenant, role, acl);
const admin: Actor = { type: 'api-token', id: 'u', name: 'u', tenantId: 'acme', role: 'admin' };

describe('ThingSpeak MQTT publish hook', () => {
  let reg: TestRegistry;
  let store: SqliteChannelStore;
  let telemetry: SqliteTelemetryStore;
  let channels: Channels;
  let hook: ReturnType<typeof thingSpeakPublishHook>;
  let bound: ChannelWithKeys;
  let free: ChannelWithKeys;
  let now = 1_700_006_400_000;

  beforeEach(async () => {
    reg = await openTestRegistry();
    await reg.registry.createTenant(SYSTEM_ACTOR, { id: 'acme', name: 'Acme' });
    await reg.registry.createDevice(SYSTEM_ACTOR, { tenantId: 'acme', id: 'dev1' });
    const dir = tempDir('halyard-ts-mqtt-');
    store = SqliteChannelStore.open(join(dir, 'thingspeak.db'), { synchronous: 'normal' });
    telemetry = SqliteTelemetryStore.open(join(dir, 'telemetry.db'), { synchronous: 'normal' });
    channels = new Channels({
      store,
      registry: reg.registry,
      telemetry,
      secretKey: reg.secretKey,
      now: () => (now += 1000),
      logger: silentLogger(),
    });
    hook = thingSpeakPublishHook({ channels, logger: silentLogger() });
    bound = await channels.createChannel(admin, { deviceId: 'dev1', fields: { field2: 'hum' } });
    free = await channels.createChannel(admin, {});
  });
  afterEach(async () => {
    await channels.close();
    await store.close();
    await telemetry.close();
    await reg.close();
  });

  const publish = async (identity: Identity, topic: string, payload: string): Promise<PublishHookResult> => {
    const result = hook.onPublish(identity, topic, Buffer.from(payload), 0);
    if (result && 'durable' in result) await result.durable;
    return result;
  };
  const last = (c: ChannelWithKeys) => channels.lastEntry(c.channel.id);

  it('lets the bound device publish a feed (leading & tolerated) and a field', async () => {
    const id = bound.channel.id;
    await publish(device('dev1'), `channels/${id}/publish`, '&field1=20&field2=55&status=ok&lat=1.5&long=2');
    const e = await last(bound);
    assert.equal(e?.fields.field1, '20');
    assert.equal(e?.fields.field2, '55');
    assert.deepEqual([e?.status, e?.latitude, e?.longitude], ['ok', 1.5, 2]);
    await publish(device('dev1'), `channels/${id}/publish/fields/field1`, '21');
    assert.equal((await last(bound))?.entryId, 2);
    await channels.mirrored();
    assert.deepEqual(
      (await telemetry.latest('dev1')).map((l) => [l.key, l.value]),
      [
        ['Field Label 1', 21],
        ['hum', 55],
        ['status', 'ok'],
      ],
    );
    assert.equal(hook.stats.updates, 2);
  });

  it('drops publishes by other devices, viewers and other tenants', async () => {
    const id = bound.channel.id;
    await publish(device('dev2'), `channels/${id}/publish`, 'field1=1');
    await publish(device('dev1'), `channels/${free.channel.id}/publish`, 'field1=1');
    await publish(user('admin', 'globex'), `channels/${id}/publish`, 'field1=1');
    assert.equal(await last(bound), undefined);
    assert.equal(await last(free), undefined);
    assert.equal(hook.stats.dropped, 3);
    const viewer = hook.onPublish(user('viewer'), `channels/${id}/publish`, Buffer.from('field1=1'), 0);
    assert.deepEqual(viewer && 'refuse' in viewer && viewer.refuse.reason, RC.NOT_AUTHORIZED);
  });

  it('lets an operator of the tenant publish', async () => {
    await publish(user('operator'), `channels/${free.channel.id}/publish`, 'field1=3');
    assert.equal((await last(free))?.fields.field1, '3');
  });

  it('accepts the legacy write-key topics, only with the channel write key', async () => {
    const id = free.channel.id;
    await publish(device('dev2'), `channels/${id}/publish/${free.writeKey}`, 'field1=5');
    await publish(device('dev2'), `channels/${id}/publish/fields/field3/${free.writeKey}`, 'x');
    assert.equal((await last(free))?.entryId, 2);
    assert.equal((await last(free))?.fields.field3, 'x');
    await publish(device('dev2'), `channels/${id}/publish/${free.readKeys[0]}`, 'field1=6');
    await publish(device('dev2'), `channels/${bound.channel.id}/publish/${free.writeKey}`, 'field1=6');
    assert.equal((await last(free))?.entryId, 2);
    assert.equal(await last(bound), undefined);
    const bad = hook.onPublish(
      device('dev2'),
      `channels/${id}/publish/not-a-key`,
      Buffer.from('field1=1'),
      0,
    );
    assert.deepEqual(bad && 'refuse' in bad && bad.refuse.reason, RC.NOT_AUTHORIZED);
  });

  it('refuses a payload that does not parse, ignores other topics', () => {
    const r = hook.onPublish(
      device('dev1'),
      `channels/${bound.channel.id}/publish`,
      Buffer.from('lat=abc'),
      0,
    );
    assert.deepEqual(r && 'refuse' in r && r.refuse.reason, RC.PAYLOAD_FORMAT_INVALID);
    assert.equal(hook.onPublish(device('dev1'), 'devices/me/telemetry', Buffer.from('{}'), 0), undefined);
    assert.equal(hook.onPublish(device('dev1'), 'channels/1/other', Buffer.from('1'), 0), undefined);
  });

  const refusal = (identity: Identity, topic: string, qos: 0 | 1 | 2) => {
    const r = hook.onPublish(identity, topic, Buffer.from('field1=1'), qos);
    return r && 'refuse' in r ? r.refuse.reason : r;
  };

  it('never lets a channel topic through to subscribers', async () => {
    const id = free.channel.id;
    // QoS 1/2 would be routed by the broker: ThingSpeak takes QoS 0 only, so they are refused.
    for (const qos of [1, 2] as const) {
      assert.equal(refusal(device('dev2'), `channels/${id}/publish/${free.writeKey}`, qos), 0x83);
      assert.equal(refusal(user('operator'), `channels/${id}/publish/fields/field1`, qos), 0x83);
    }
    for (const topic of ['channels/x/publish', `channels/${id}/publish/fields/field9/${free.writeKey}`])
      assert.equal(refusal(device('dev1'), topic, 0), RC.TOPIC_NAME_INVALID);
    for (const topic of [`channels/${id}/subscribe`, `channels/${id}/subscribe/fields/field1`])
      assert.equal(refusal(user('operator'), topic, 0), RC.NOT_AUTHORIZED);
    const consumed = await publish(device('dev2'), `channels/${id}/publish/${free.writeKey}`, 'field1=1');
    assert.ok(consumed && 'private' in consumed && consumed.private);
    assert.equal((await last(free))?.entryId, 1);
  });

  it('drops a legacy write-key publish from another tenant', async () => {
    const id = free.channel.id;
    await publish(device('dev9', 'globex'), `channels/${id}/publish/${free.writeKey}`, 'field1=1');
    assert.equal(await last(free), undefined);
    assert.equal(hook.stats.dropped, 1);
  });

  it('parses created_at forms and feed payloads', () => {
    assert.equal(parseCreatedAt('2014-12-31 23:59:59'), Date.UTC(2014, 11, 31, 23, 59, 59));
    assert.equal(parseCreatedAt('2017-01-12 13:22:54-05'), Date.UTC(2017, 0, 12, 18, 22, 54));
    assert.equal(parseCreatedAt('2018-09-10T17:41:59Z'), Date.UTC(2018, 8, 10, 17, 41, 59));
    assert.equal(parseCreatedAt('1700000000'), 1_700_000_000_000);
    assert.equal(parseCreatedAt('yesterday'), undefined);
    assert.deepEqual(parseFeedPayload('field1=1&elevation=3&twitter=x'), {
      ok: true,
      input: { fields: { field1: '1' }, elevation: 3 },
    });
  });
});
