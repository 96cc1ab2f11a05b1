import { closeAll, connectMany } from '../gen/connect-many.js';
import { connectorMissing, failureNote, nodeFallbackAllowed, runConnector } from '../gen/native-connect.js';
import { rssBytes, sleep } from '../gen/timing.js';
import type { Scenario } from './types.js';

const CONCURRENCY = 100;

/**
 * Broker RSS (/proc/<pid>/status VmRSS) before and after 10,000 idle clients
 * (keep-alive 0, nothing subscribed), divided by the connections reached.
 * Both readings follow a settle pause so start-up and connect-time garbage
 * are not counted. The clients are held by the C connector
 * (bench/gen/connect-storm.c, hold mode), which opens them in well under a
 * second; the Node generator is the fallback when it is not built (never
 * under CI=true).
 */
export const idleMemory: Scenario = {
  name: 'idle-memory',
  title: 'Memory per idle connection (10,000 clients)',
  quick: false,
  async run({ port, brokerPid, quick }) {
    const target = quick ? 2000 : 10_000;
    const missing = connectorMissing();
    if (missing !== null && !nodeFallbackAllowed()) throw new Error(missing);
    await sleep(1000);
    const before = rssBytes(brokerPid);
    let reached: number;
    let firstError: string | null;
    let failures: string | undefined;
    let release: () => Promise<void>;
    if (missing === null) {
      const run = await runConnector({ port, count: target, concurrency: CONCURRENCY, hold: true });
      reached = run.result.connected;
      firstError = run.result.firstError;
      failures = failureNote(run.result, target);
      release = run.release;
    } else {
      const r = await connectMany(port, target, CONCURRENCY, 'im');
      reached = r.reached;
      firstError = r.firstError;
      failures = r.failures ? `${r.failures} failed: ${r.firstError}` : undefined;
      release = () => closeAll(r.sockets);
    }
    let after: number;
    try {
      await sleep(2000);
      after = rssBytes(brokerPid);
    } finally {
      await release();
    }
    const loss = reached === 0 ? `no connection succeeded: ${firstError ?? '?'}` : null;
    const notes = [
      `${reached} clients, RSS ${(before / 2 ** 20).toFixed(1)} → ${(after / 2 ** 20).toFixed(1)} MiB`,
      failures,
      missing === null ? undefined : `Node generator (${missing})`,
    ];
    return [
      {
        key: 'idle-memory',
        label: 'Memory per idle connection',
        unit: 'B/conn',
        better: 'lower',
        value: loss ? null : (after - before) / reached,
        loss,
        genCpu: NaN,
        brokerCpu: NaN,
        otherCpu: NaN,
        extra: notes.filter((n) => n !== undefined).join('; '),
      },
    ];
  },
};
