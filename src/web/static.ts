/**
 * The dashboard's files on the HTTP(S) listener. The app is a single page:
 * `/`, and any path that looks like one of its routes (`/devices/abc`), gets
 * index.html and the app routes in the browser. Everything that is not the
 * app keeps its own answers: the REST API under /api, the ThingSpeak API on
 * the root (`/update`, `/channels/…`), /metrics, /healthz, /mqtt.
 *
 * Vite names built files by their content hash, so /assets/* may be cached
 * for a year; index.html, which names them, must be revalidated every time.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpApp } from '../transport/http.js';

/** `dist/web` of this package (this file runs as dist/src/web/static.js), wherever the process was started. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

/**
 * Only this origin: no inline scripts or styles (uPlot and Preact style
 * elements through the CSSOM, which CSP does not govern); data: images for
 * small assets Vite inlines; the live WebSocket is same-origin ('self').
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const APP_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // frame-ancestors for browsers that predate it.
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/** Paths that are never the app, even when nothing answers them. */
const NOT_APP = /^\/(?:api|assets|mqtt|update)(?:[/.]|$)|^\/(?:metrics|health|ready)/;
/** A file at the top of the web root (favicon.svg, robots.txt): a single segment with an extension. */
const TOP_LEVEL_FILE = /^\/([\w-]+(?:\.[\w-]+)*\.\w+)$/;

export interface DashboardOptions {
  /** The built app: index.html and assets/; default DEFAULT_WEB_ROOT. */
  root?: string;
}

export async function registerDashboard(app: HttpApp, opts: DashboardOptions = {}): Promise<void> {
  const root = opts.root ?? DEFAULT_WEB_ROOT;
  const indexFile = join(root, 'index.html');
  if (!(await isFile(indexFile))) {
    app.log.warn({ root }, 'the dashboard is not built: / answers 503 until it is (npm run build)');
  }

  await app.register(fastifyStatic, {
    root: join(root, 'assets'),
    prefix: '/assets/',
    index: false,
    dotfiles: 'ignore',
    immutable: true,
    maxAge: '365d',
    // The app may be built after the server started.
    suppressWarning: true,
    setHeaders: (reply) => void reply.headers(APP_HEADERS),
  });

  const sendIndex = async (_request: FastifyRequest, reply: FastifyReply) => {
    let html: Buffer;
    try {
      html = await readFile(indexFile);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return reply
        .code(503)
        .headers({ ...APP_HEADERS, 'cache-control': 'no-store' })
        .type('text/plain; charset=utf-8')
        .send(
          'The Halyard dashboard is not built, so there is nothing to show here yet.\n' +
            'Build it with `npm run build` (Vite writes it to dist/web/), then reload this page.\n' +
            'The REST API (/api), MQTT over WebSocket (/mqtt) and /metrics work without it.\n',
        );
    }
    return reply
      .headers({ ...APP_HEADERS, 'cache-control': 'no-cache' })
      .type('text/html; charset=utf-8')
      .send(html);
  };

  app.get('/', sendIndex);
  app.get('/index.html', sendIndex);
  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0];
    if ((request.method === 'GET' || request.method === 'HEAD') && !NOT_APP.test(path)) {
      const file = TOP_LEVEL_FILE.exec(path)?.[1];
      if (file === undefined) return sendIndex(request, reply);
      if (await isFile(join(root, file))) {
        return reply.headers(APP_HEADERS).sendFile(file, root, { maxAge: 0, immutable: false });
      }
    }
    return reply
      .code(404)
      .send({ message: `Route ${request.method}:${path} not found`, error: 'Not Found', statusCode: 404 });
  });
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
