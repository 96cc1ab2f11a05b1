/**
 * A line-protocol client for Node.js (docs/line-protocol.md): TCP or TLS, HMAC
 * or token login, pipelined requests (answers come back in order), messages
 * for subscriptions and the device's inbox as events.
 *
 * Self-contained (Node's own modules only): copy it into a device's code.
 *
 *   const client = await LineClient.connect({ host: 'halyard.local', port: 7000 });
 *   await client.authHmac('sensor-1', process.env.HMAC_SECRET);
 *   client.on('message', (topic, payload) => console.log(topic, payload.toString()));
 *   await client.pub('devices/me/telemetry', JSON.stringify({ temperature: 21.5 }));
 *   await client.close();
 */
import { createHmac } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';

export interface LineClientOptions {
  host?: string;
  port: number;
  /** Connect over TLS, trusting this CA (PEM); omit `tls` for plain TCP. */
  tls?: { ca?: string | Buffer; servername?: string; rejectUnauthorized?: boolean };
  /** Fail a request whose answer does not come within this time (default 30 s). */
  timeoutMs?: number;
}

/** An ERR frame: `code` is stable (docs/line-protocol.md, "Error codes"), `reason` is for people. */
export class LineError extends Error {
  constructor(
    readonly code: string,
    readonly reason: string,
  ) {
    super(`${code}: ${reason}`);
    this.name = 'LineError';
  }
}

interface Pending {
  /** The command of the answer that means success. */
  expect: string;
  resolve(fields: string[]): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export interface LineClientEvents {
  message: [topic: string, payload: Buffer];
  /** Queued for a conversation slot; 1 = next. */
  wait: [position: number];
  /** A frame that answers nothing: a greeting after waiting, an ERR that closes. */
  notice: [fields: string[]];
  close: [];
}

const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '|': '\\p',
  '\n': '\\n',
  '\r': '\\r',
  '\x04': '\\x04',
  '\0': '\\x00',
};

/** The escaping rule, on bytes held as latin1 text (one character per byte). */
export function escapeField(value: string | Buffer): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  // eslint-disable-next-line no-control-regex -- EOT and NUL are exactly what must be escaped
  return bytes.toString('latin1').replace(/[\\|\n\r\x04\0]/g, (ch) => ESCAPES[ch]);
}

export function unescapeField(field: string): Buffer {
  const text = field.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, e: string) => {
    if (e === 'p') return '|';
    if (e === 'n') return '\n';
    if (e === 'r') return '\r';
    if (e.length === 3) return String.fromCharCode(parseInt(e.slice(1), 16));
    return e; // "\\"
  });
  return Buffer.from(text, 'latin1');
}

export class LineClient extends EventEmitter<LineClientEvents> {
  /** The nonce of the latest greeting. */
  nonce = '';
  private buffered = '';
  private readonly pending: Pending[] = [];
  private greeted: { resolve(): void; reject(err: Error): void } | undefined;
  private closed = false;

  private constructor(
    private readonly socket: net.Socket,
    private readonly timeoutMs: number,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => this.onClose());
  }

  /** Connects and waits for the greeting (through any WAIT frames). */
  static async connect(options: LineClientOptions): Promise<LineClient> {
    const host = options.host ?? 'localhost';
    const socket = options.tls
      ? tls.connect({ host, port: options.port, servername: options.tls.servername ?? host, ...options.tls })
      : net.connect(options.port, host);
    socket.setNoDelay(true);
    const client = new LineClient(socket, options.timeoutMs ?? 30_000);
    await new Promise<void>((resolve, reject) => {
      client.greeted = { resolve, reject };
      socket.once('error', reject);
    });
    return client;
  }

  /** AUTH with HMAC-SHA256(secret, nonce): the secret (hex, from `halyard device hmac`) never leaves the device. */
  async authHmac(deviceId: string, secretHex: string): Promise<void> {
    const mac = createHmac('sha256', Buffer.from(secretHex, 'hex')).update(this.nonce).digest('hex');
    await this.request('OK', 'AUTH', deviceId, mac);
  }

  async authToken(deviceId: string, token: string): Promise<void> {
    await this.request('OK', 'AUTH', deviceId, 'TOKEN', token);
  }

  /** Resolves once the message is durable (QoS 1), or handed to the broker (QoS 0). */
  async pub(topic: string, payload: string | Buffer, qos: 0 | 1 = 1): Promise<void> {
    await this.request('OK', 'PUB', topic, payload, ...(qos === 0 ? ['0'] : []));
  }

  async sub(filter: string): Promise<void> {
    await this.request('OK', 'SUB', filter);
  }

  async unsub(filter: string): Promise<void> {
    await this.request('OK', 'UNSUB', filter);
  }

  /** To another device of the tenant; it arrives on devices/<dest>/inbox/<me>/<type>. */
  async send(dest: string, type: string, ...fields: string[]): Promise<void> {
    await this.request('OK', 'SEND', dest, type, ...fields);
  }

  async ping(): Promise<void> {
    await this.request('PONG', 'PING');
  }

  /** Ends the conversation; the connection stays, and `hello()` starts another. */
  async bye(): Promise<void> {
    await this.request('BYE', 'BYE');
  }

  /** A new conversation after `bye()` (resolves on the greeting), or a fresh nonce before AUTH. */
  async hello(): Promise<void> {
    await this.request('HALYARD', 'HELLO');
  }

  /** Says goodbye and waits for the server to close the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    const gone = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    await this.request('BYE', 'CLOSE');
    await gone;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private request(expect: string, command: string, ...fields: (string | Buffer)[]): Promise<string[]> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    const frame = [command, ...fields.map(escapeField)].join('|') + '\n';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer to ${command} within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      this.pending.push({ expect, resolve, reject, timer });
      this.socket.write(Buffer.from(frame, 'latin1'));
    });
  }

  private onData(chunk: Buffer): void {
    this.buffered += chunk.toString('latin1');
    let end: number;
    // eslint-disable-next-line no-control-regex -- EOT (0x04) ends a frame, as LF does
    while ((end = this.buffered.search(/[\n\x04]/)) >= 0) {
      const frame = this.buffered.slice(0, end).replace(/\r$/, '');
      this.buffered = this.buffered.slice(end + 1);
      if (frame.length > 0) this.onFrame(frame.split('|'));
    }
  }

  private onFrame(raw: string[]): void {
    const [command] = raw;
    if (command === 'MSG') {
      this.emit('message', unescapeField(raw[1] ?? '').toString('utf8'), unescapeField(raw[2] ?? ''));
      return;
    }
    if (command === 'WAIT') {
      this.emit('wait', Number(raw[1]));
      return;
    }
    const fields = raw.map((f) => unescapeField(f).toString('utf8'));
    if (command === 'HALYARD') this.nonce = fields[2] ?? '';
    const head = this.pending[0];
    if (!head || (command === 'HALYARD' && head.expect !== 'HALYARD')) {
      // Unasked: the greeting on connect or after waiting, or an ERR that ends the connection.
      if (command === 'HALYARD') this.greeted?.resolve();
      this.greeted = undefined;
      this.emit('notice', fields);
      return;
    }
    this.pending.shift();
    clearTimeout(head.timer);
    if (command === 'ERR') head.reject(new LineError(fields[1] ?? '', fields[2] ?? ''));
    else if (command === head.expect) head.resolve(fields);
    else head.reject(new Error(`unexpected answer ${fields.join('|')}`));
  }

  private onClose(): void {
    this.closed = true;
    this.greeted?.reject(new Error('connection closed before the greeting'));
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(new Error('connection closed'));
    }
    this.emit('close');
  }
}
