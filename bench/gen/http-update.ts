/**
 * ThingSpeak `/update` load: C keep-alive HTTP/1.1 connections, each with one
 * request in flight (closed loop), each writing to one channel (connection i
 * to channel i mod channels) with a form body
 * `api_key=<write key>&field1=<n>&field2=<n>`.
 *
 * Raw sockets, not node:http: the request is a template whose only varying
 * part is the number `n`, and the response parser reads the status code, the
 * `Content-Length` header and the body, nothing else, so the generator costs
 * far less per request than the server (its CPU is reported to prove it).
 *
 * A response counts as a success only when it is 200 with a positive integer
 * body (the entry id); anything else (another status, `0` = throttled or
 * refused, a body that is not a number, a chunked or unparseable response, a
 * closed connection) is an error.
 */
import net from 'node:net';
import {
  CpuMeter,
  MainThreadMeter,
  percentile,
  sleep,
  waitUntil,
  type CpuFigures,
  type MainThreadFigures,
} from './timing.js';

export interface HttpUpdateOptions {
  port: number;
  brokerPid: number;
  /** One write key per channel. */
  writeKeys: string[];
  connections: number;
  warmupMs: number;
  durationMs: number;
  /** Bound on the wait for the responses still due after sending stops. */
  drainMs: number;
}

export interface HttpUpdateResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Over the whole run (warm-up included). */
  sent: number;
  ok: number;
  errors: number;
  /** Requests sent whose response never came. */
  unanswered: number;
  /** Per channel: successful updates, and the highest entry id answered. */
  okPerChannel: number[];
  maxIdPerChannel: number[];
  /** The first few distinct errors, for the report. */
  errorSamples: string[];
  cpu: CpuFigures;
  /** Halyard's event-loop thread over the measured interval. */
  mainThread: MainThreadFigures;
}

const CRLF2 = Buffer.from('\r\n\r\n');

class Connection {
  sent = 0;
  answered = 0;
  ok = 0;
  maxId = 0;
  closed = false;
  private pending: Buffer | null = null;
  private sentAt = 0;
  private n = 0;
  private readonly head: string;

  constructor(
    readonly socket: net.Socket,
    readonly channel: number,
    private readonly key: string,
    private readonly onResponse: (ms: number, entryId: number | null, what: string) => void,
    private readonly canSend: () => boolean,
  ) {
    this.head =
      'POST /update HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n';
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.data(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      if (this.sent > this.answered) this.onResponse(0, null, 'connection closed with a request in flight');
    });
  }

  get inflight(): boolean {
    return this.sent > this.answered;
  }

  send(): void {
    if (this.closed) return;
    const v = this.n++ % 1000;
    const body = `api_key=${this.key}&field1=${v}&field2=${v * 2}`;
    this.socket.write(`${this.head}Content-Length: ${body.length}\r\n\r\n${body}`, 'latin1');
    this.sent++;
    this.sentAt = performance.now();
  }

  private data(d: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, d]) : d;
    this.pending = null;
    for (;;) {
      const end = buf.indexOf(CRLF2);
      if (end < 0) break;
      const head = buf.toString('latin1', 0, end);
      const status = Number(head.slice(9, 12));
      const m = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (!m) {
        this.fail(`response without Content-Length (status ${status})`);
        return;
      }
      const len = Number(m[1]);
      if (buf.length < end + 4 + len) break;
      const body = buf.toString('latin1', end + 4, end + 4 + len);
      buf = buf.subarray(end + 4 + len);
      this.answered++;
      const ms = performance.now() - this.sentAt;
      if (status === 200 && /^[1-9]\d*$/.test(body)) {
        const id = Number(body);
        this.ok++;
        if (id > this.maxId) this.maxId = id;
        this.onResponse(ms, id, '');
      } else {
        this.onResponse(ms, null, `HTTP ${status} ${JSON.stringify(body.slice(0, 80))}`);
      }
      if (/\r\nconnection: *close/i.test(head)) {
        this.fail('server closed the keep-alive connection');
        return;
      }
      if (this.canSend()) this.send();
    }
    if (buf.length > 0) this.pending = Buffer.from(buf);
  }

  private fail(what: string): void {
    this.onResponse(0, null, what);
    this.answered = this.sent;
    this.closed = true;
    this.socket.destroy();
  }
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

export async function httpUpdateLoad(o: HttpUpdateOptions): Promise<HttpUpdateResult> {
  const conns: Connection[] = [];
  let measuring = false;
  let stopped = false;
  let measured = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  let latencies = new Float64Array(1 << 18);
  let nLat = 0;
  const onResponse = (ms: number, entryId: number | null, what: string): void => {
    if (entryId === null) {
      errors++;
      if (errorSamples.length < 5 && !errorSamples.includes(what)) errorSamples.push(what);
      return;
    }
    if (!measuring) return;
    measured++;
    if (nLat === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[nLat++] = ms;
  };
  const canSend = (): boolean => !stopped;
  try {
    const sockets = await Promise.all(Array.from({ length: o.connections }, () => connect(o.port)));
    sockets.forEach((s, i) => {
      const ch = i % o.writeKeys.length;
      conns.push(new Connection(s, ch, o.writeKeys[ch], onResponse, canSend));
    });
    for (const c of conns) c.send();
    const meter = new CpuMeter(o.brokerPid);
    const mainMeter = new MainThreadMeter(o.brokerPid);
    await sleep(o.warmupMs);
    measuring = true;
    meter.start();
    mainMeter.start();
    await sleep(o.durationMs);
    const cpu = meter.stop();
    const mainThread = mainMeter.stop();
    measuring = false;
    stopped = true;
    await waitUntil(() => conns.every((c) => !c.inflight || c.closed), o.drainMs, 10);
    const sum = (f: (c: Connection) => number): number => conns.reduce((s, c) => s + f(c), 0);
    const okPerChannel = o.writeKeys.map(() => 0);
    const maxIdPerChannel = o.writeKeys.map(() => 0);
    for (const c of conns) {
      okPerChannel[c.channel] += c.ok;
      maxIdPerChannel[c.channel] = Math.max(maxIdPerChannel[c.channel], c.maxId);
    }
    const sorted = latencies.subarray(0, nLat).sort();
    const sent = sum((c) => c.sent);
    const answered = sum((c) => c.answered);
    return {
      requestsPerSec: (measured * 1000) / cpu.elapsedMs,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      sent,
      ok: sum((c) => c.ok),
      errors,
      unanswered: sent - answered,
      okPerChannel,
      maxIdPerChannel,
      errorSamples,
      cpu,
      mainThread,
    };
  } finally {
    stopped = true;
    for (const c of conns) c.socket.destroy();
  }
}
