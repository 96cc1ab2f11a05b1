import { WebSocket } from 'ws';
import type { LiveMessage } from '../../src/web/live-protocol.js';

/**
 * A client of the dashboard's live feed (/api/live) for tests: keeps every
 * message it received, and waits for the one a test expects.
 */
export class LiveClient {
  readonly messages: LiveMessage[] = [];
  private wake: (() => void) | undefined;
  private readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.messages.push(JSON.parse((data as Buffer).toString()) as LiveMessage);
      this.wake?.();
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => {
        this.wake?.();
        resolve({ code, reason: reason.toString() });
      }),
    );
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<LiveClient> {
    const ws = new WebSocket(url, { headers });
    const client = new LiveClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  /** The first message (of all received so far, or still to come) that matches. */
  async waitFor<T extends LiveMessage['type']>(
    type: T,
    matches: (message: Extract<LiveMessage, { type: T }>) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<Extract<LiveMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received(type, matches)[0];
      if (found) return found;
      if (this.ws.readyState !== WebSocket.OPEN) throw new Error(`socket closed while waiting for ${type}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out waiting for a ${type} message`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  received<T extends LiveMessage['type']>(
    type: T,
    matches: (message: Extract<LiveMessage, { type: T }>) => boolean = () => true,
  ): Array<Extract<LiveMessage, { type: T }>> {
    return this.messages.filter(
      (m): m is Extract<LiveMessage, { type: T }> =>
        m.type === type && matches(m as Extract<LiveMessage, { type: T }>),
    );
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  /** Sends a watch request and waits until the server has applied it (its reply to a bad frame follows it). */
  async watch(deviceIds?: string[]): Promise<void> {
    const errors = this.received('error').length;
    this.send(deviceIds === undefined ? { type: 'watch' } : { type: 'watch', deviceIds });
    this.send('{"type":"sync"}');
    await this.waitFor('error', () => this.received('error').length > errors);
  }

  whenClosed(): Promise<{ code: number; reason: string }> {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    await this.closed;
  }
}

/** The HTTP status an upgrade request gets (101 when it succeeds), and the body of a refusal. */
export function upgradeStatus(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const ws = new WebSocket(url, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101, body: '' });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    ws.once('error', reject);
  });
}

/** Signs in over the REST API: the session token and the cookie header that carries it. */
export async function signIn(
  httpUrl: string,
  username: string,
  password: string,
): Promise<{ token: string; cookie: string }> {
  const res = await fetch(`${httpUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200) throw new Error(`sign-in of ${username} failed: ${res.status} ${await res.text()}`);
  const { token } = (await res.json()) as { token: string };
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0];
  return { token, cookie };
}
