import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokerStats } from '../broker/stats.js';
import { renderMetrics } from './metrics.js';

function sampleLines(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.trimEnd().split('\n')) {
    if (line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), line.slice(at + 1));
  }
  return values;
}

describe('renderMetrics', () => {
  it('exposes broker counters and gauges with HELP and TYPE', () => {
    const stats = new BrokerStats();
    stats.clientsConnected = 3;
    stats.messagesReceived = 42;
    stats.bytesSent = 1024;
    stats.retained = 7;
    stats.subscriptions = 5;
    const text = renderMetrics(stats, [], stats.startedAt + 90_500);
    const values = sampleLines(text);
    assert.equal(values.get('halyard_clients_connected'), '3');
    assert.equal(values.get('halyard_messages_received_total'), '42');
    assert.equal(values.get('halyard_bytes_sent_total'), '1024');
    assert.equal(values.get('halyard_retained_messages'), '7');
    assert.equal(values.get('halyard_subscriptions'), '5');
    assert.equal(values.get('halyard_uptime_seconds'), '90');
    assert.ok(text.endsWith('\n'));
    for (const name of values.keys()) {
      assert.match(text, new RegExp(`^# HELP ${name} \\S`, 'm'));
      const type = new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm').exec(text)?.[1];
      assert.equal(type === 'counter', name.endsWith('_total'), `${name} is a ${type}`);
    }
  });

  it('groups extra samples under one header and escapes label values', () => {
    const text = renderMetrics(new BrokerStats(), [
      {
        name: 'halyard_store_writes_total',
        help: 'Writes.',
        type: 'counter',
        value: 1,
        labels: { kind: 'a"b' },
      },
      {
        name: 'halyard_store_writes_total',
        help: 'Writes.',
        type: 'counter',
        value: 2,
        labels: { kind: 'c\\d\ne' },
      },
    ]);
    assert.equal(text.match(/# TYPE halyard_store_writes_total counter/g)?.length, 1);
    assert.match(text, /^halyard_store_writes_total\{kind="a\\"b"\} 1$/m);
    assert.match(text, /^halyard_store_writes_total\{kind="c\\\\d\\ne"\} 2$/m);
  });
});
