import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteTelemetryStore } from '../src/telemetry/sqlite/telemetry-store.js';
import { HalyardFixture, type HalyardProcess } from './helpers/halyard-process.js';

/**
 * kill -9 during ThingSpeak updates loses no answered update, in either API:
 * every update answered before the crash has its entry, and its copy in the
 * telemetry of the channel's device is there once Halyard has started again.
 * The copies are held back for a minute here, so at the crash none of them is
 * written and the restart's recovery has to write all of them.
 */

let fixture: HalyardFixture;
after(async () => fixture.cleanup());

async function httpPort(proc: HalyardProcess): Promise<number> {
  const entry = await proc.waitForLog((e) => e.listener === 'http' && typeof e.port === 'number');
  return entry.port as number;
}

describe('ThingSpeak durability', () => {
  it("keeps every answered update, and its copy in the device's telemetry, across kill -9", async () => {
    const off = { enabled: false };
    fixture = await HalyardFixture.create({
      listeners: {
        mqtt: { host: '127.0.0.1', port: 0, allowAnonymous: false },
        http: { host: '127.0.0.1', port: 0, allowAnonymous: false },
        mqtts: off,
        https: off,
        line: off,
        lines: off,
      },
      telemetry: { channelMirrorDelayMs: 60_000 },
    });
    const userKey = await fixture.provisionApiToken('acme');
    await fixture.provisionTokenDevice('acme', 'meter-1');
    const proc = await fixture.start();
    const base = `http://127.0.0.1:${await httpPort(proc)}`;
    const created = await fetch(`${base}/channels.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `api_key=${userKey}&name=meter&field1=kwh&device_id=meter-1`,
    });
    assert.equal(created.status, 200);
    const channel = (await created.json()) as {
      id: number;
      api_keys: { api_key: string; write_flag: boolean }[];
    };
    const writeKey = channel.api_keys.find((k) => k.write_flag)?.api_key;
    assert.ok(writeKey);

    /** Answered updates: field1 (the sequence number) → created_at. */
    const answered = new Map<number, string>();
    let next = 0;
    let crashed = false;
    const crash = async () => {
      crashed = true;
      await HalyardFixture.crash(proc);
    };
    const worker = async (): Promise<void> => {
      while (!crashed && next < 5000) {
        const seq = next++;
        try {
          const res = await fetch(`${base}/update.json`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: `api_key=${writeKey}&field1=${seq}`,
          });
          const body = (await res.json()) as { created_at: string } | number;
          if (typeof body === 'object') answered.set(seq, body.created_at);
        } catch {
          return; // the crash reset the connection
        }
        // Crash once a good part is answered, with more updates in flight.
        if (!crashed && answered.size >= 400) await crash();
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    assert.ok(
      crashed && answered.size >= 400,
      `the crash happened during the updates (${answered.size} answered)`,
    );

    // Start again: the mirror is recovered before the listeners open, so its log line is already out.
    const restarted = await fixture.start();
    const recovered = restarted.stdoutLines
      .map((line) => JSON.parse(line) as { msg?: string; points?: number })
      .find((e) => e.msg === 'mirrored channel entries a crash had left unmirrored');
    assert.ok((recovered?.points ?? 0) >= answered.size, `recovered ${String(recovered?.points)} points`);
    const feed = await fetch(
      `${base.replace(/:\d+$/, `:${await httpPort(restarted)}`)}/channels/${channel.id}/feeds.json?api_key=${writeKey}&results=8000`,
    );
    const entries = ((await feed.json()) as { feeds: { field1: string }[] }).feeds.map((f) =>
      Number(f.field1),
    );
    restarted.kill('SIGTERM');
    await restarted.exited;

    const stored = new Set(entries);
    const lostEntries = [...answered.keys()].filter((seq) => !stored.has(seq));
    assert.deepEqual(lostEntries, [], 'answered updates without an entry');
    const telemetry = SqliteTelemetryStore.open(join(fixture.dataDir, 'telemetry.db'));
    try {
      const { points } = await telemetry.query({
        seriesId: 'meter-1',
        keys: ['kwh'],
        from: 0,
        to: Date.now() + 3_600_000,
        limit: 100_000,
      });
      // created_at as ThingSpeak shows it: whole seconds.
      const second = (ts: number) =>
        new Date(Math.floor(ts / 1000) * 1000).toISOString().replace('.000Z', 'Z');
      const mirrored = new Map(points.map((p) => [p.value as number, second(p.ts)]));
      const lostMirrors = [...answered].filter(([seq, at]) => mirrored.get(seq) !== at);
      assert.deepEqual(
        lostMirrors.slice(0, 5),
        [],
        `${lostMirrors.length} answered updates without their mirror`,
      );
    } finally {
      await telemetry.close();
    }
  });
});
