/**
 * Quick QoS 0 fan-in measurement: 10 publishers → 1 subscriber on a wildcard,
 * 64-byte payloads, against a Halyard process (and Mosquitto when installed),
 * all on 127.0.0.1. Closed loop: publishers stop sending while more than WINDOW
 * messages are unaccounted for at the subscriber, so the figure is a sustainable
 * rate, not a burst into socket buffers. Bounded: DURATION_MS per run.
 *
 *   npm run build && node dist/bench/quick-fanin.js [runs]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as mqtt from 'mqtt-packet';

const PUBLISHERS = 10;
const PAYLOAD = Buffer.alloc(64, 0x61);
const WINDOW = 2000;
const DURATION_MS = 5000;
const BATCH = 50;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function connectClient(port: number, clientId: string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(mqtt.generate({ cmd: 'connect', clientId, protocolVersion: 4, clean: true, keepalive: 0 }));
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  return socket;
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} never opened`);
}

async function measure(port: number): Promise<{ rate: number; lost: number }> {
  const sub = await connectClient(port, 'bench-sub');
  const parser = mqtt.parser({ protocolVersion: 4 });
  let received = 0;
  let subscribed!: () => void;
  const ready = new Promise<void>((resolve) => (subscribed = resolve));
  parser.on('packet', (packet) => {
    if (packet.cmd === 'publish') received++;
    else if (packet.cmd === 'suback') subscribed();
  });
  sub.on('data', (chunk: Buffer) => parser.parse(chunk));
  sub.write(mqtt.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'bench/#', qos: 0 }] }));
  await ready;

  const pubs = await Promise.all(
    Array.from({ length: PUBLISHERS }, (_, i) => connectClient(port, `bench-pub-${i}`)),
  );
  const frames = pubs.map((_, i) =>
    Buffer.concat(
      Array.from({ length: BATCH }, () =>
        mqtt.generate({
          cmd: 'publish',
          topic: `bench/p${i}`,
          payload: PAYLOAD,
          qos: 0,
          retain: false,
          dup: false,
        }),
      ),
    ),
  );
  let sent = 0;
  const started = Date.now();
  let startReceived = 0;
  let measuring = false;
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      const elapsed = Date.now() - started;
      if (!measuring && elapsed > 500) {
        measuring = true;
        startReceived = received;
      }
      if (elapsed > DURATION_MS + 500) return resolve();
      for (let i = 0; i < pubs.length; i++) {
        if (sent - received < WINDOW) {
          pubs[i].write(frames[i]);
          sent += BATCH;
        }
      }
      setImmediate(pump);
    };
    pump();
  });
  const rate = ((received - startReceived) * 1000) / DURATION_MS;
  // Let the tail drain (bounded), then count what never arrived.
  for (let i = 0; i < 100 && received < sent; i++) await new Promise((r) => setTimeout(r, 20));
  for (const s of [...pubs, sub]) s.destroy();
  return { rate, lost: sent - received };
}

async function runBroker(
  name: string,
  start: (port: number, dir: string) => ChildProcess,
): Promise<number[]> {
  const rates: number[] = [];
  for (let run = 0; run < Number(process.argv[2] ?? 3); run++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'halyard-bench-'));
    const port = await freePort();
    const child = start(port, dir);
    try {
      await waitForPort(port, child);
      const { rate, lost } = await measure(port);
      console.log(`${name} run ${run + 1}: ${Math.round(rate)} msgs/s${lost ? ` (LOST ${lost})` : ''}`);
      rates.push(lost ? 0 : rate);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rates;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const cli = path.join(path.dirname(new URL(import.meta.url).pathname), '../src/cli/main.js');
const halyard = await runBroker('halyard', (port, dir) =>
  spawn(
    process.execPath,
    [
      cli,
      'start',
      '--data-dir',
      dir,
      '--port',
      String(port),
      '--listeners.mqtt.host',
      '127.0.0.1',
      '--listeners.mqtt.allow-anonymous',
      '--listeners.mqtts.enabled',
      'false',
      '--listeners.http.enabled',
      'false',
      '--listeners.https.enabled',
      'false',
      '--log-level',
      'warn',
    ],
    { stdio: 'ignore' },
  ),
);
let mosquitto: number[] = [];
try {
  mosquitto = await runBroker('mosquitto', (port, dir) => {
    const conf = path.join(dir, 'mosquitto.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n`);
    return spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  });
} catch (err) {
  console.log(`mosquitto not measured: ${(err as Error).message}`);
}
console.log(`median halyard ${Math.round(median(halyard))} msgs/s`);
if (mosquitto.length) {
  console.log(
    `median mosquitto ${Math.round(median(mosquitto))} msgs/s; ratio ${(median(halyard) / median(mosquitto)).toFixed(2)}`,
  );
}
