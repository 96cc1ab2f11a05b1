/**
 * Opens `count` MQTT connections with at most `concurrency` CONNECT→CONNACK
 * attempts in flight. Bare sockets, a pre-encoded CONNECT whose client id is
 * patched per client, and a 4-byte CONNACK check: the cheapest client the
 * generator can be, so the broker's accept/CONNECT path is what is measured.
 */
import net from 'node:net';
import * as mqtt from 'mqtt-packet';

const ID_DIGITS = 6;

export interface ConnectManyResult {
  sockets: net.Socket[];
  reached: number;
  failures: number;
  firstError: string | null;
  elapsedMs: number;
}

export function connectMany(
  port: number,
  count: number,
  concurrency: number,
  prefix: string,
  attemptTimeoutMs = 10_000,
): Promise<ConnectManyResult> {
  const template = mqtt.generate({
    cmd: 'connect',
    clientId: prefix + '0'.repeat(ID_DIGITS),
    protocolVersion: 4,
    clean: true,
    keepalive: 0,
  });
  const idOff = template.length - ID_DIGITS;
  const sockets: net.Socket[] = [];
  let started = 0;
  let settled = 0;
  let failures = 0;
  let firstError: string | null = null;
  const t0 = performance.now();
  return new Promise((resolve) => {
    const finish = (): void => {
      if (++settled === count) {
        resolve({
          sockets,
          reached: sockets.length,
          failures,
          firstError,
          elapsedMs: performance.now() - t0,
        });
      } else if (started < count) {
        attempt();
      }
    };
    const attempt = (): void => {
      const id = started++;
      const connect = Buffer.from(template);
      connect.write(String(id).padStart(ID_DIGITS, '0'), idOff, 'latin1');
      const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
      let done = false;
      const fail = (why: string): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        failures++;
        firstError ??= why;
        socket.destroy();
        finish();
      };
      const timer = setTimeout(() => fail('CONNACK timeout'), attemptTimeoutMs);
      socket.on('error', (err) => fail(err.message));
      socket.on('close', () => fail('closed before CONNACK'));
      socket.once('data', (chunk: Buffer) => {
        if (chunk.length < 4 || chunk[0] !== 0x20 || chunk[3] !== 0) return fail('CONNACK refused');
        done = true;
        clearTimeout(timer);
        sockets.push(socket);
        finish();
      });
      socket.write(connect);
    };
    for (let i = 0; i < Math.min(concurrency, count); i++) attempt();
  });
}

/**
 * Closes every socket with a RST and waits (bounded) until they are gone: no
 * TIME_WAIT is left behind, so later storms do not pay for a crowded
 * ephemeral-port table in connect().
 */
export async function closeAll(sockets: net.Socket[], timeoutMs = 5000): Promise<void> {
  await Promise.race([
    Promise.all(
      sockets.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.once('close', () => resolve());
            s.resetAndDestroy();
          }),
      ),
    ),
    new Promise<void>((r) => setTimeout(r, timeoutMs)),
  ]);
}
