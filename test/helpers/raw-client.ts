import net from 'node:net';
import * as mqtt from 'mqtt-packet';

/**
 * A tiny MQTT client over a raw socket, for tests that need exact control over
 * the bytes sent (malformed packets, protocol violations) and want to see every
 * packet the broker answers with. No keep-alive, no retries, no acks unless the
 * test sends them.
 *
 *   const c = await RawClient.connect(port, { protocolVersion: 5 });
 *   c.send({ cmd: 'connect', protocolVersion: 5, clientId: 'x' });
 *   const connack = await c.next('connack');
 *   c.send(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]));
 *   const disconnect = await c.next('disconnect');
 *   await c.closed;
 */
export class RawClient {
  /** Every packet parsed so far, in arrival order (also those already handed out by next()). */
  readonly received: mqtt.Packet[] = [];
  /** Resolves when the socket has closed (either side); never rejects. */
  readonly closed: Promise<void>;
  /** True once the socket has closed. */
  isClosed = false;
  /** Set if the broker's bytes did not parse. */
  parseError: Error | undefined;

  private readonly queue: mqtt.Packet[] = [];
  private waiter: { resolve: () => void } | undefined;
  private parser: ReturnType<typeof mqtt.parser>;

  private constructor(
    readonly socket: net.Socket,
    private protocolVersion: number,
  ) {
    this.parser = this.makeParser();
    socket.on('data', (chunk: Buffer) => this.parser.parse(chunk));
    socket.on('error', () => {}); // resets are expected in these tests; 'close' follows
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.isClosed = true;
        this.wake();
        resolve();
      });
    });
  }

  /** Opens a TCP connection to 127.0.0.1:port. `protocolVersion` sets how replies are parsed (default 4). */
  static async connect(
    port: number,
    opts: { protocolVersion?: number; host?: string } = {},
  ): Promise<RawClient> {
    const socket = net.connect({ host: opts.host ?? '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.setNoDelay(true);
    return new RawClient(socket, opts.protocolVersion ?? 4);
  }

  /**
   * Connects and completes a CONNECT/CONNACK handshake; rejects unless the
   * CONNACK is a success. Extra CONNECT fields (properties, username...) may be given.
   */
  static async connected(
    port: number,
    connect: Partial<mqtt.IConnectPacket> & { protocolVersion?: 3 | 4 | 5 } = {},
  ): Promise<RawClient> {
    const protocolVersion = connect.protocolVersion ?? 4;
    const client = await RawClient.connect(port, { protocolVersion });
    client.send({ cmd: 'connect', clientId: '', clean: true, keepalive: 0, ...connect, protocolVersion });
    const connack = await client.next('connack');
    const code = connack.reasonCode ?? connack.returnCode ?? 0;
    if (code !== 0) {
      client.destroy();
      throw new Error(`CONNACK refused: ${code}`);
    }
    return client;
  }

  private makeParser(): ReturnType<typeof mqtt.parser> {
    const parser = mqtt.parser({ protocolVersion: this.protocolVersion });
    parser.on('packet', (packet: mqtt.Packet) => {
      this.received.push(packet);
      this.queue.push(packet);
      this.wake();
    });
    parser.on('error', (err: Error) => {
      this.parseError ??= err;
      this.wake();
    });
    return parser;
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve();
  }

  /** Sends a packet (encoded for this client's protocol version) or raw bytes. */
  send(packet: mqtt.Packet | Buffer | Uint8Array): void {
    if (this.socket.destroyed) return;
    if (packet instanceof Uint8Array) {
      this.socket.write(packet);
      return;
    }
    this.socket.write(mqtt.generate(packet, { protocolVersion: this.protocolVersion as 3 | 4 | 5 }));
  }

  /** Changes the protocol version used to encode sends and parse replies (e.g. after a hand-built CONNECT). */
  setProtocolVersion(version: 3 | 4 | 5): void {
    this.protocolVersion = version;
    this.parser = this.makeParser();
  }

  /**
   * The next packet from the broker (optionally: the next one with this cmd,
   * skipping others). Rejects if the socket closes first, or after `timeoutMs`
   * (a safety net so a broken test fails instead of hanging; default 5 s).
   */
  async next<C extends mqtt.PacketCmd>(cmd?: C, timeoutMs = 5000): Promise<Extract<mqtt.Packet, { cmd: C }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.queue.length > 0) {
        const packet = this.queue.shift() as mqtt.Packet;
        if (cmd === undefined || packet.cmd === cmd) return packet as Extract<mqtt.Packet, { cmd: C }>;
      }
      if (this.parseError) throw this.parseError;
      if (this.isClosed) throw new Error(`connection closed while waiting for ${cmd ?? 'a packet'}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out waiting for ${cmd ?? 'a packet'}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiter = {
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    }
  }

  /**
   * Waits for the socket to close and returns the packets that arrived before
   * that and were not yet taken by next(). Rejects after `timeoutMs`.
   */
  async untilClosed(timeoutMs = 5000): Promise<mqtt.Packet[]> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out waiting for the connection to close')), timeoutMs);
    });
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return this.queue.splice(0);
  }

  /** Half-closes (FIN); the broker may still answer. */
  end(): void {
    this.socket.end();
  }

  /** Closes the socket at once. Safe to call more than once. */
  destroy(): void {
    this.socket.destroy();
  }
}
