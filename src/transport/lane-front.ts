/**
 * The fast lanes' own HTTP/1.1 front on the HTTP and HTTPS listeners.
 *
 * Why by hand: node:http costs about 27 µs of one core per request on this
 * project's reference machine (36,000 empty answers/s), more than half of the
 * `/update` budget (20,000 requests/s); most of it is the IncomingMessage and
 * ServerResponse streams, not the parsing. Devices that send nothing but lane
 * requests (a ThingSpeak client on keep-alive) get them read here straight off
 * the socket instead, at half the cost or less (a bare socket server with
 * this framing answered 61,000 requests/s, the load generator then the limit).
 *
 * Only a strict subset of HTTP/1.1 stays here: a request line
 * `GET|POST <target> HTTP/1.1`, well-formed unique headers with a Host, a plain
 * Content-Length (no Transfer-Encoding, Expect or Upgrade), Connection absent,
 * `keep-alive` or `close`, a head of at most 16 KiB, and a request some lane
 * takes. At the first request outside it (a browser, a malformed head, a
 * chunked body…) the connection passes to node:http at that request's first
 * byte, once the answers owed before it are written, so node:http serves and
 * judges it exactly as if it had had the connection from the start.
 */
import { STATUS_CODES, type IncomingHttpHeaders, type Server } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { FastLanes, LaneAnswer, LaneHandler } from './fast-lanes.js';

/** node:http's default limit on a request head. */
const MAX_HEAD = 16 * 1024;
/** Requests read ahead of their answers on one connection before reading pauses. */
const MAX_PIPELINED = 32;
const CRLF2 = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);
const REQUEST_LINE = /^(GET|POST) (\/[!-~]*) HTTP\/1\.1$/;

export interface LaneRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  bodyLength: number;
  /** The client asked to close the connection after this request. */
  close: boolean;
}

/*
 * The head is scanned by hand: a split and a regular expression per line cost
 * 1.8 µs a head against 1.1 (a microbenchmark of the bench's `/update` heads),
 * a few per cent of the whole update.
 *
 * Header names as devices send them, to their lower-case form: a name found
 * here is a constant string, which V8 finds on the headers object far faster
 * than a fresh lower-cased copy (that lookup was 40% of the parse).
 */
const COMMON_NAMES = new Map(
  ['Host', 'Content-Type', 'Content-Length', 'Connection', 'User-Agent', 'Accept', 'Accept-Encoding'].flatMap(
    (n) => [n, n.toLowerCase()].map((as) => [as, n.toLowerCase()] as const),
  ),
);

/** RFC 9110 token characters, the only ones a header name may have. */
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TOKEN[c.charCodeAt(0)] = 1;
const COLON = 0x3a;
const SPACE = 0x20;
const TAB = 0x09;
/** A header value is visible ASCII, spaces and tabs. */
const TILDE = 0x7e;

/** The request head (without its blank line) if it is in the front's subset, else undefined. */
export function parseLaneHead(head: string): LaneRequest | undefined {
  const lineEnd = head.indexOf('\r\n');
  if (lineEnd < 0) return undefined; // no Host
  const start = REQUEST_LINE.exec(head.slice(0, lineEnd));
  if (!start) return undefined;
  const headers: Record<string, string> = {};
  for (let at = lineEnd + 2; at <= head.length;) {
    const found = head.indexOf('\r\n', at);
    const end = found < 0 ? head.length : found;
    let i = at;
    while (i < end && TOKEN[head.charCodeAt(i)] === 1) i++;
    if (i === at || i === end || head.charCodeAt(i) !== COLON) return undefined;
    const raw = head.slice(at, i);
    const name = COMMON_NAMES.get(raw) ?? raw.toLowerCase();
    if (headers[name] !== undefined) return undefined;
    let from = i + 1;
    let to = end;
    for (let j = from; j < end; j++) {
      const c = head.charCodeAt(j);
      if (c > TILDE || (c < SPACE && c !== TAB)) return undefined;
    }
    while (from < to && (head.charCodeAt(from) === SPACE || head.charCodeAt(from) === TAB)) from++;
    while (to > from && (head.charCodeAt(to - 1) === SPACE || head.charCodeAt(to - 1) === TAB)) to--;
    headers[name] = head.slice(from, to);
    at = end + 2;
  }
  if (headers.host === undefined) return undefined;
  if (headers['transfer-encoding'] !== undefined || headers.expect !== undefined) return undefined;
  if (headers.upgrade !== undefined) return undefined;
  const length = headers['content-length'];
  if (length !== undefined && !/^\d{1,9}$/.test(length)) return undefined;
  const connection = headers.connection?.toLowerCase();
  if (connection !== undefined && connection !== 'keep-alive' && connection !== 'close') return undefined;
  return {
    method: start[1],
    url: start[2],
    headers,
    bodyLength: length === undefined ? 0 : Number(length),
    close: connection === 'close',
  };
}

let dateSecond = -1;
let dateText = '';
/** The Date header's value, formatted once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

/** An answer as node:http writes it for the same writeHead/end, so both drivers send the same bytes. */
function answerBytes(a: LaneAnswer, keepAliveSeconds: number, close: boolean): string {
  let text = `HTTP/1.1 ${a.status} ${STATUS_CODES[a.status] ?? 'unknown'}\r\n`;
  for (let i = 0; i < a.headers.length; i += 2) text += `${a.headers[i]}: ${a.headers[i + 1]}\r\n`;
  text += `Date: ${httpDate()}\r\n`;
  text += close
    ? 'Connection: close\r\n'
    : `Connection: keep-alive\r\nKeep-Alive: timeout=${keepAliveSeconds}\r\n`;
  return `${text}\r\n${a.body}`;
}

interface Owed {
  text: string | undefined;
  close: boolean;
}

/** One connection while the front serves it. */
class LaneConnection {
  private pending: Buffer | undefined;
  /** When the request now in `pending` began: it must be whole within the headers timeout. */
  private pendingSince = 0;
  /** Answers in request order; written from the front as they are ready. */
  private readonly owed: Owed[] = [];
  /** Set once a request outside the subset came: the bytes from its first one on. */
  private handOverFrom: Buffer | undefined;
  private closeAfterOwed = false;
  private readonly onData = (chunk: Buffer): void => this.read(chunk);
  private readonly onEnd = (): void => this.ended();
  private readonly onTimeout = (): void => {
    this.socket.destroy();
  };
  private readonly onError = (): void => {
    this.socket.destroy();
  };

  constructor(
    private readonly socket: Socket,
    private readonly lanes: FastLanes,
    private readonly server: Server | HttpsServer,
    private readonly toNodeHttp: (socket: Socket) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('timeout', this.onTimeout);
    socket.on('error', this.onError);
    this.idle();
  }

  private read(chunk: Buffer): void {
    // As node:http's headersTimeout: counted from the request's first byte, so a client that sends
    // a byte now and then cannot hold the connection open with a request it never finishes.
    if (this.pending && performance.now() - this.pendingSince > this.server.headersTimeout) {
      this.socket.destroy();
      return;
    }
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    const started = this.pending ? this.pendingSince : performance.now();
    this.pending = undefined;
    let at = 0;
    // Past MAX_PIPELINED owed answers, the rest waits (unparsed) until they are written.
    while (at < buf.length && this.owed.length < MAX_PIPELINED) {
      const end = buf.indexOf(CRLF2, at);
      const headEnd = end < 0 ? buf.length : end;
      if (headEnd - at > MAX_HEAD) return this.handOver(buf.subarray(at));
      if (end < 0) break;
      const request = parseLaneHead(buf.toString('latin1', at, end));
      const handler = request && this.lanes.route(request.method, request.url, request.headers);
      if (!request || !handler) return this.handOver(buf.subarray(at));
      const bodyEnd = end + 4 + request.bodyLength;
      if (bodyEnd > buf.length) break;
      this.serve(handler, buf.subarray(end + 4, bodyEnd), request.close);
      at = bodyEnd;
      if (request.close) {
        // Nothing after a `Connection: close` request is read (node:http does the same).
        this.stopReading();
        return;
      }
    }
    // Kept beyond this call: copied, so the (possibly much larger) chunk can go.
    if (at < buf.length) {
      this.pending = Buffer.from(buf.subarray(at));
      // The same request still under way keeps its start; a new one starts now.
      this.pendingSince = at === 0 ? started : performance.now();
    }
    if (this.owed.length >= MAX_PIPELINED) {
      this.socket.pause();
      this.socket.setTimeout(0); // the client is waiting for us, not we for it
    } else if (this.pending) {
      // A request under way must come in whole within node:http's headers timeout.
      this.socket.setTimeout(this.server.headersTimeout);
    } else if (this.owed.length > 0) {
      this.socket.setTimeout(0); // answers are owed: the keep-alive timeout starts after them
    }
  }

  private serve(handler: LaneHandler, body: Buffer, close: boolean): void {
    const slot: Owed = { text: undefined, close };
    this.owed.push(slot);
    const keepAlive = Math.floor(this.server.keepAliveTimeout / 1000);
    void handler(body).then(
      (a) => {
        slot.text = answerBytes(a, keepAlive, close);
        this.flush();
      },
      // A lane broke its promise never to reject: nothing sensible to say.
      () => this.socket.destroy(),
    );
  }

  /** Writes the answers that are ready, in order; then closes or hands over if that waits on them. */
  private flush(): void {
    let text = '';
    let close = false;
    while (this.owed.length > 0 && this.owed[0].text !== undefined) {
      const slot = this.owed.shift()!;
      text += slot.text;
      close ||= slot.close;
    }
    if (text !== '' && !this.socket.destroyed) this.socket.write(text);
    if (this.owed.length > 0) return;
    if (close || this.closeAfterOwed) this.socket.end();
    else if (this.handOverFrom) this.passToNodeHttp(this.handOverFrom);
    else {
      if (this.socket.isPaused()) this.socket.resume();
      // Requests read ahead past the cap (or a part of one) go on from where they stopped.
      if (this.pending) this.read(EMPTY);
      else this.idle();
    }
  }

  private handOver(from: Buffer): void {
    // Copied: the rest of a chunk that may be large is kept only as long as needed.
    this.handOverFrom = Buffer.from(from);
    this.socket.pause();
    if (this.owed.length === 0) this.passToNodeHttp(this.handOverFrom);
  }

  private passToNodeHttp(from: Buffer): void {
    this.handOverFrom = undefined;
    this.detach();
    this.socket.pause();
    if (from.length > 0) this.socket.unshift(from);
    this.toNodeHttp(this.socket);
    this.socket.resume();
  }

  /** The server is closing: an idle connection closes now, a busy one after the answers it owes. */
  closeWhenIdle(): void {
    this.stopReading();
    if (this.owed.length === 0) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** The client closed its sending side: answer what it asked, then close. */
  private ended(): void {
    // (A connection waiting to pass to node:http is paused, and a paused socket reports no end.)
    this.pending = undefined;
    this.closeAfterOwed = true;
    if (this.owed.length === 0) this.socket.end();
  }

  private stopReading(): void {
    this.socket.off('data', this.onData);
    this.socket.pause();
    this.pending = undefined;
    this.handOverFrom = undefined;
    this.closeAfterOwed = true;
  }

  private idle(): void {
    this.socket.setTimeout(this.server.keepAliveTimeout);
  }

  private detach(): void {
    this.socket.setTimeout(0);
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('timeout', this.onTimeout);
    this.socket.off('error', this.onError);
  }
}

/**
 * Puts the lane front before node:http on an HTTP or HTTPS server: every new
 * connection (for HTTPS, once its TLS handshake is done) starts on the front
 * and passes to node:http at its first request that no lane takes in the
 * front's subset of HTTP/1.1.
 */
export function frontLanes(server: Server | HttpsServer, lanes: FastLanes): void {
  // node:http serves a plain connection on 'connection', a TLS one on 'secureConnection'.
  const event = server instanceof HttpsServer ? 'secureConnection' : 'connection';
  const nodeListeners = server.listeners(event) as ((socket: Socket) => void)[];
  if (nodeListeners.length !== 1)
    throw new Error('the lane front must come before any other connection listener');
  const [nodeHttp] = nodeListeners;
  server.removeListener(event, nodeHttp);
  const onFront = new Set<LaneConnection>();
  server.on(event, (socket: Socket) => {
    const connection = new LaneConnection(socket, lanes, server, (s) => {
      onFront.delete(connection);
      nodeHttp.call(server, s);
    });
    onFront.add(connection);
    socket.once('close', () => onFront.delete(connection));
  });
  // node:http closes the idle connections it serves when the server closes; these are the front's.
  const closeIdle = server.closeIdleConnections.bind(server);
  server.closeIdleConnections = () => {
    for (const connection of onFront) connection.closeWhenIdle();
    closeIdle();
  };
  const closeAll = server.closeAllConnections.bind(server);
  server.closeAllConnections = () => {
    for (const connection of onFront) connection.destroy();
    closeAll();
  };
}
