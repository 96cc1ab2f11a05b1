import net from 'node:net';
import tls from 'node:tls';
import { FrameSplitter, type Terminator } from '../../src/transport/line/frame-splitter.js';

/** A line listener on a free loopback port, for startTestPlatform's `listeners` (add limits as needed). */
export const LOCAL_LINE_LISTENER = { enabled: true, host: '127.0.0.1', port: 0 } as const;

/**
 * A raw line-protocol connection for tests: writes bytes as given and hands
 * out the server's frames one by one (terminator included in `nextFrame`), so
 * a test sees exactly what went over the wire.
 */
export class LineSocket {
  private readonly frames: { text: string; terminator: Terminator }[] = [];
  private waiter: (() => void) | undefined;
  /** Resolves when the server has closed the connection (or it broke). */
  readonly closed: Promise<void>;
  private isClosed = false;

  private constructor(readonly socket: net.Socket) {
    const splitter = new FrameSplitter(1024 * 1024, {
      onFrame: (frame, terminator) => {
        this.frames.push({ text: frame.toString('latin1'), terminator });
        this.waiter?.();
      },
      onOverflow: () => this.frames.push({ text: '<overflow>', terminator: 'lf' }),
    });
    socket.on('data', (chunk: Buffer) => splitter.push(chunk));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.waiter?.();
        resolve();
      }),
    );
  }

  static connect(port: number, options: { ca?: string } = {}): Promise<LineSocket> {
    return new Promise((resolve, reject) => {
      const socket =
        options.ca === undefined
          ? net.connect(port, '127.0.0.1')
          : tls.connect({ port, host: '127.0.0.1', ca: options.ca, servername: 'localhost' });
      const ready = options.ca === undefined ? 'connect' : 'secureConnect';
      socket.once(ready, () => resolve(new LineSocket(socket)));
      socket.once('error', reject);
    });
  }

  /** Connects and reads the greeting; returns the socket and the nonce. */
  static async greeted(
    port: number,
    options: { ca?: string } = {},
  ): Promise<{ line: LineSocket; nonce: string }> {
    const line = await LineSocket.connect(port, options);
    const greeting = await line.next();
    const match = /^HALYARD\|1\|([0-9a-f]{32})$/.exec(greeting);
    if (!match) throw new Error(`not a greeting: ${greeting}`);
    return { line, nonce: match[1] };
  }

  /** Connects, is greeted and logs in as `deviceId` with its token; fails the test otherwise. */
  static async authenticated(
    port: number,
    deviceId: string,
    token: string,
    options: { ca?: string } = {},
  ): Promise<LineSocket> {
    const { line } = await LineSocket.greeted(port, options);
    const answer = await line.ask(`AUTH|${deviceId}|TOKEN|${token}`);
    if (answer !== 'OK') throw new Error(`AUTH of ${deviceId} answered ${answer}`);
    return line;
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** Writes text as it is (add the terminator yourself), or a whole frame with `\n` when `frame` is used. */
  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  frame(text: string): void {
    this.socket.write(`${text}\n`);
  }

  /** The next frame from the server, with its terminator; fails after `timeoutMs` or when the connection closes. */
  async nextFrame(timeoutMs = 5000): Promise<{ text: string; terminator: Terminator }> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.isClosed) throw new Error('connection closed while waiting for a frame');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.frames.shift() as { text: string; terminator: Terminator };
  }

  async next(timeoutMs?: number): Promise<string> {
    return (await this.nextFrame(timeoutMs)).text;
  }

  /** Sends a frame and returns the answer. */
  async ask(text: string, timeoutMs?: number): Promise<string> {
    this.frame(text);
    return this.next(timeoutMs);
  }

  /** Frames received and not yet read. */
  get buffered(): number {
    return this.frames.length;
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
