import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../core/logger.js';
import type { DataPoint } from '../telemetry/model.js';
import {
  channelSlot,
  entriesFromPoints,
  withDeviceChannels,
  type DeviceChannelSink,
} from './device-telemetry.js';
import type { Channel } from './model.js';
import { newChannel } from './store-suite/fixtures.js';
import { feedPayload, parseLegacySubscribeTopic } from './mqtt-feeds.js';

const channel: Channel = {
  ...newChannel({ deviceId: 'dev1' }),
  id: 7,
  fields: { ...newChannel().fields, field1: 'temperature', field2: 'field3', field4: 'status' },
};
const point = (key: string, value: DataPoint['value'], ts = 1000, seriesId = 'dev1'): DataPoint => ({
  tenantId: 't1',
  seriesId,
  key,
  ts,
  value,
});

describe('native telemetry as channel entries', () => {
  it('maps keys by field name first, then fieldN, then status', () => {
    assert.equal(channelSlot(channel, 'temperature'), 'field1');
    assert.equal(channelSlot(channel, 'field3'), 'field2', 'a field named field3 wins over field3 itself');
    assert.equal(channelSlot(channel, 'field8'), 'field8');
    assert.equal(channelSlot(channel, 'status'), 'field4');
    assert.equal(channelSlot({ ...channel, fields: newChannel().fields }, 'status'), 'status');
    assert.equal(channelSlot(channel, 'humidity'), undefined);
  });

  it('makes one entry per time, oldest first, values as strings, too long values left out', () => {
    const inputs = entriesFromPoints(channel, [
      point('temperature', 21.5, 2000),
      point('field8', true, 2000),
      point('humidity', 1, 2000),
      point('temperature', 20, 1000),
      point('field5', 'x'.repeat(256), 1000),
    ]);
    assert.deepEqual(inputs, [
      { fields: { field1: '20' }, createdAt: 1000 },
      { fields: { field1: '21.5', field8: 'true' }, createdAt: 2000 },
    ]);
  });

  it('appends for bound devices only, after the telemetry is stored', async () => {
    const order: string[] = [];
    const sink: DeviceChannelSink = {
      channelsOfDevice: (id) => (id === 'dev1' ? [channel] : undefined),
      appendDeviceEntries: (c, inputs) => {
        order.push(`append ${c.id} ${inputs.length}`);
        return Promise.resolve();
      },
    };
    const ingest = {
      accept: (points: readonly DataPoint[]) => {
        order.push(`store ${points.length}`);
        return Promise.resolve();
      },
    };
    const accept = withDeviceChannels(ingest, sink, silentLogger());
    await accept.accept([point('temperature', 1, 1000, 'other')]);
    await accept.accept([point('temperature', 1), point('humidity', 2), point('temperature', 3, 2000)]);
    assert.deepEqual(order, ['store 1', 'store 3', 'append 7 2']);
    await assert.rejects(
      withDeviceChannels({ accept: () => Promise.reject(new Error('busy')) }, sink, silentLogger()).accept([
        point('temperature', 1),
      ]),
      /busy/,
    );
    assert.equal(order.length, 3, 'nothing appended for telemetry that was not stored');
  });
});

describe('legacy subscribe topics', () => {
  it('parses the forms with a format or a key; the current forms are not legacy', () => {
    const KEY = 'ABCDEFGHIJKLMNOP';
    assert.deepEqual(parseLegacySubscribeTopic(`channels/5/subscribe/xml/${KEY}`), {
      channelId: 5,
      format: 'xml',
      field: undefined,
      key: KEY,
    });
    assert.deepEqual(parseLegacySubscribeTopic('channels/5/subscribe/json'), {
      channelId: 5,
      format: 'json',
      field: undefined,
      key: undefined,
    });
    assert.equal(parseLegacySubscribeTopic(`channels/5/subscribe/fields/field2/${KEY}`)?.field, 2);
    assert.equal(parseLegacySubscribeTopic('channels/5/subscribe'), undefined);
    assert.equal(parseLegacySubscribeTopic('channels/5/subscribe/fields/field2'), undefined);
    assert.equal(parseLegacySubscribeTopic('channels/5/subscribe/json/short'), undefined);
  });

  it('renders a field topic as the bare value, nothing when the field is empty', () => {
    const entry = {
      channelId: 7,
      entryId: 1,
      createdAt: 0,
      fields: { field1: '1', field2: null },
      status: null,
      latitude: null,
      longitude: null,
      elevation: null,
    };
    assert.equal(feedPayload({ field: 1 }, entry), '1');
    assert.equal(feedPayload({ field: 2 }, entry), undefined);
    assert.match(
      feedPayload({ format: 'json' }, entry)!,
      /^\{"channel_id":7,"created_at":"1970-01-01T00:00:00Z"/,
    );
  });
});
