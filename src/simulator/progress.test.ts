import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatSummary, progressLine, ProgressReporter } from './progress.js';
import { SimulationStats } from './stats.js';

function stats(qos: 0 | 1 | 2 = 1): SimulationStats {
  const s = new SimulationStats(qos, 0);
  s.devices = 3;
  return s;
}

describe('progressLine', () => {
  it('shows connections, rate and counters; acknowledgements only for QoS 1/2', () => {
    const s = stats();
    s.connected = 2;
    s.sent = 120;
    s.acknowledged = 118;
    assert.equal(
      progressLine(s, 12.04),
      '2/3 connected · 12.0 msg/s · 120 sent · 118 acknowledged · 0 errors',
    );
    const q0 = stats(0);
    q0.sent = 5;
    assert.equal(progressLine(q0, 0), '0/3 connected · 0.0 msg/s · 5 sent · 0 errors');
  });

  it('adds drop-outs and the last error when there are some', () => {
    const s = stats();
    s.dropouts = 2;
    s.error('sim-pump-1: connection lost');
    assert.equal(
      progressLine(s, 1),
      '0/3 connected · 1.0 msg/s · 0 sent · 0 acknowledged · 1 error · 2 drop-outs (last: sim-pump-1: connection lost)',
    );
  });
});

describe('formatSummary', () => {
  it('sums up a run', () => {
    assert.equal(
      formatSummary({
        devices: 3,
        qos: 1,
        sent: 30,
        acknowledged: 30,
        errors: 0,
        dropouts: 1,
        durationMs: 10_000,
      }),
      'Simulated 3 devices for 10.0 s: 30 sent, 30 acknowledged (QoS 1), 0 errors, 1 drop-out (3.0 msg/s).',
    );
    assert.equal(
      formatSummary({
        devices: 1,
        qos: 0,
        sent: 0,
        acknowledged: 0,
        errors: 1,
        dropouts: 0,
        durationMs: 0,
        lastError: 'd1: connect ECONNREFUSED',
      }),
      'Simulated 1 device for 0.0 s: 0 sent, QoS 0, not acknowledged, 1 error, 0 drop-outs (0.0 msg/s).\n' +
        'Last error: d1: connect ECONNREFUSED',
    );
  });
});

describe('ProgressReporter', () => {
  it('off a terminal: a line when all are connected, then one per period', (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'] });
    const s = stats();
    const written: string[] = [];
    const out = () => written.join('');
    const reporter = new ProgressReporter(
      s,
      { write: (text: string) => written.push(text) },
      {
        everyMs: 10_000,
        label: 'simulate',
      },
    );
    reporter.start();
    t.mock.timers.tick(1000);
    assert.equal(out(), '');
    for (let i = 0; i < 3; i++) s.connectionOpened();
    s.connectionClosed();
    t.mock.timers.tick(250);
    assert.equal(out(), 'simulate: all 3 devices connected\n');
    s.sent = 50;
    t.mock.timers.tick(9000);
    assert.match(out(), /\nsimulate: 2\/3 connected · \d+\.\d msg\/s · 50 sent/);
    assert.equal(out().split('\n').length, 3);
    reporter.stop();
  });

  it('on a terminal: one line rewritten in place, ended by stop()', (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'] });
    const s = stats();
    let out = '';
    const reporter = new ProgressReporter(
      s,
      { write: (text: string) => (out += text), isTTY: true, columns: 200 },
      {
        everyMs: 10_000,
        label: 'demo',
      },
    );
    reporter.start();
    t.mock.timers.tick(500);
    assert.ok(out.startsWith('\r\x1b[2Kdemo: 0/3 connected'));
    assert.ok(!out.includes('\n'));
    reporter.stop();
    assert.ok(out.endsWith('\n'));
  });
});
