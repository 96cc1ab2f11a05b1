/**
 * N publishers → M subscribers sharing the work (one wildcard subscriber, or a
 * $share group): the engine behind the fan-in, shared-subscription and
 * payload-sweep scenarios. Every delivered payload is checked (magic, length)
 * and its (publisher, sequence) marked, so loss and duplicates are exact.
 */
import { RawClient } from './client.js';
import type { FrameHandler } from './frame-scanner.js';
import { MAGIC, publishInfo, type PublishInfo } from './payload.js';
import { Publisher } from './publisher.js';
import { SeqTracker } from './seq-tracker.js';
import { CpuMeter, sleep, waitUntil, type CpuFigures } from './timing.js';

export interface FanInOptions {
  port: number;
  brokerPid: number;
  publishers: number;
  subscribers: number;
  filter: string;
  qos: 0 | 1;
  payloadSize: number;
  /** Per publisher. */
  window: number;
  warmupMs: number;
  durationMs: number;
  clientPrefix: string;
  /** Credentials of the publishers (the subscribers connect without). */
  publisherLogin?: { username: string; password: string };
  /** Each publisher cycles through many topics `bench/p<i>/<k>` instead of one (see Publisher). */
  distinctTopics?: boolean;
  /** How long to wait for the tail after the publishers stop (default 5 s). */
  drainMs?: number;
}

export interface FanInResult {
  rate: number;
  bytesPerSec: number;
  sent: number;
  unique: number;
  duplicates: number;
  corrupt: number;
  reordered: number;
  cpu: CpuFigures;
  problem: string | null;
}

export async function fanIn(o: FanInOptions): Promise<FanInResult> {
  const subs: RawClient[] = [];
  const pubs: Publisher[] = [];
  const trackers = Array.from({ length: o.publishers }, () => new SeqTracker());
  let delivered = 0;
  let corrupt = 0;
  let scheduled = false;
  const pumpAll = (): void => {
    scheduled = false;
    for (const p of pubs) p.pump();
  };
  const schedule = (): void => {
    if (!scheduled) {
      scheduled = true;
      setImmediate(pumpAll);
    }
  };
  try {
    const info: PublishInfo = { qos: 0, retain: false, packetId: 0, payloadOff: 0, payloadLen: 0 };
    for (let s = 0; s < o.subscribers; s++) {
      const sub = await RawClient.connect(o.port, { clientId: `${o.clientPrefix}s${s}` });
      const onPublish: FrameHandler = (buf, off, _avail, hdrLen, remLen) => {
        publishInfo(buf, off, hdrLen, remLen, info);
        if (info.qos) sub.ack(info.packetId);
        const p = info.payloadOff;
        if (info.payloadLen !== o.payloadSize || buf.readUInt16LE(p + 2) !== MAGIC) {
          corrupt++;
          return;
        }
        const pub = buf.readUInt16LE(p);
        trackers[pub].mark(buf.readUInt32LE(p + 4));
        pubs[pub].delivered++;
        delivered++;
      };
      sub.onPublish = onPublish;
      sub.afterData = schedule;
      await sub.subscribe(o.filter, o.qos);
      subs.push(sub);
    }
    for (let i = 0; i < o.publishers; i++) {
      const client = await RawClient.connect(o.port, {
        clientId: `${o.clientPrefix}p${i}`,
        ...o.publisherLogin,
      });
      client.afterData = schedule;
      const maxBatch = Math.max(1, Math.floor(65536 / (o.payloadSize + 32)));
      pubs.push(
        new Publisher(client, {
          index: i,
          topic: `bench/p${i}`,
          qos: o.qos,
          payloadSize: o.payloadSize,
          window: o.window,
          maxBatch,
          distinctTopics: o.distinctTopics,
        }),
      );
    }
    const meter = new CpuMeter(o.brokerPid);
    schedule();
    await sleep(o.warmupMs);
    const startDelivered = delivered;
    meter.start();
    await sleep(o.durationMs);
    const count = delivered - startDelivered;
    const cpu = meter.stop();
    for (const p of pubs) p.stopped = true;
    const sent = pubs.reduce((n, p) => n + p.sent, 0);
    await waitUntil(
      () =>
        delivered + corrupt >= sent &&
        (o.qos === 0 || pubs.every((p) => p.client.pubacks >= p.sent)) &&
        subs.every((s) => s.error === null),
      o.drainMs ?? 5000,
    );
    await sleep(50); // late duplicates, if any, would show up here
    const broken = [...subs, ...pubs.map((p) => p.client)].find((c) => c.error || c.socket.destroyed);
    const rate = (count * 1000) / cpu.elapsedMs;
    return {
      rate,
      bytesPerSec: rate * o.payloadSize,
      sent,
      unique: trackers.reduce((n, t) => n + t.unique, 0),
      duplicates: trackers.reduce((n, t) => n + t.duplicates, 0),
      reordered: trackers.reduce((n, t) => n + t.reordered, 0),
      corrupt,
      cpu,
      problem: broken ? `connection lost: ${broken.error?.message ?? 'closed by broker'}` : null,
    };
  } finally {
    for (const c of [...subs, ...pubs.map((p) => p.client)]) c.destroy();
  }
}

/** The loss verdict shared by the scenarios: null when everything sent arrived exactly once, intact. */
export function lossOf(r: FanInResult): string | null {
  if (r.problem) return r.problem;
  if (r.unique === 0) return 'nothing delivered';
  const parts: string[] = [];
  if (r.unique < r.sent) parts.push(`lost ${r.sent - r.unique} of ${r.sent}`);
  if (r.duplicates) parts.push(`${r.duplicates} duplicates`);
  if (r.corrupt) parts.push(`${r.corrupt} corrupt`);
  return parts.length ? parts.join(', ') : null;
}
