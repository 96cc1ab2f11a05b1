import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { startTestBroker, type TestBroker } from './helpers/broker-harness.js';

let tb: TestBroker;
before(async () => {
  tb = await startTestBroker();
});
after(async () => {
  await tb.close();
});

test('publish and subscribe v5 qos1', async () => {
  const sub = await mqtt.connectAsync(tb.url, { protocolVersion: 5, clientId: 's1', reconnectPeriod: 0 });
  const pub = await mqtt.connectAsync(tb.url, { protocolVersion: 4, clientId: 'p1', reconnectPeriod: 0 });
  await sub.subscribeAsync('a/+', { qos: 1 });
  const got = new Promise<[string, string]>((resolve) =>
    sub.on('message', (t, p) => resolve([t, p.toString()])),
  );
  await pub.publishAsync('a/b', 'hello', { qos: 1 });
  assert.deepEqual(await got, ['a/b', 'hello']);
  await sub.endAsync();
  await pub.endAsync();
});
