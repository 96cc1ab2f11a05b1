/**
 * Fast lanes: hot routes that need none of Fastify's pipeline (hooks, parsers,
 * a logger per request). A lane looks at a request's head and, if the request
 * is its own, returns a handler that turns the body into a whole answer. Two
 * drivers carry lanes: node:http's request handler (`FastLanes.take`, on the
 * connections node:http serves) and the lane front (lane-front.ts), which
 * reads lane requests straight off the socket.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

/** A lane's whole answer; `headers` are flat name/value pairs, Content-Length among them. */
export interface LaneAnswer {
  status: number;
  headers: readonly string[];
  body: string;
}

/** Answers one request from its body (empty when it has none); never rejects. */
export type LaneHandler = (body: Buffer) => Promise<LaneAnswer>;

/** The handler for a request this lane takes, or undefined to leave it to the others and to Fastify. */
export type FastLane = (method: string, url: string, headers: IncomingHttpHeaders) => LaneHandler | undefined;

const EMPTY = Buffer.alloc(0);

/** The fast lanes of one app, asked in order before Fastify; none while the app closes. */
export class FastLanes {
  private readonly lanes: FastLane[] = [];
  private closing = false;

  add(lane: FastLane): void {
    this.lanes.push(lane);
  }

  /** The handler of the first lane that takes this request; none once closing (Fastify answers 503). */
  route(method: string, url: string, headers: IncomingHttpHeaders): LaneHandler | undefined {
    if (this.closing) return undefined;
    for (const lane of this.lanes) {
      const handler = lane(method, url, headers);
      if (handler) return handler;
    }
    return undefined;
  }

  /** Serves a node:http request on a lane; false leaves it to Fastify. */
  take(req: IncomingMessage, res: ServerResponse): boolean {
    const handler = this.route(req.method ?? '', req.url ?? '', req.headers);
    if (!handler) return false;
    const answer = (body: Buffer): void => {
      void handler(body).then(
        (a) => {
          res.writeHead(a.status, a.headers as string[]);
          res.end(a.body);
        },
        () => res.destroy(), // a lane broke its promise never to reject: nothing sensible to say
      );
    };
    if (req.headers['content-length'] === undefined || req.headers['content-length'] === '0') {
      answer(EMPTY);
      req.resume();
      return true;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => answer(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    // A body cut short (the client went away): nobody is left to answer.
    req.on('error', () => undefined);
    return true;
  }

  close(): void {
    this.closing = true;
  }
}
