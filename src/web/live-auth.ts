/**
 * Who opens the live feed: the same session cookie as the REST API, or
 * `?token=` (a session or API token) for clients that cannot set a cookie.
 * A cookie rides along on cross-site requests, so a cookie-authenticated
 * upgrade must come from a page of this very host (CSRF safety, as for the
 * API's writes); a browser always sends Origin on a WebSocket handshake.
 */
import type { IncomingMessage } from 'node:http';
import { fastifyCookie } from '@fastify/cookie';
import type { z } from 'zod';
import { originHost, SESSION_COOKIE } from '../api/authenticate.js';
import { userDto, type UserDto } from '../api/dto.js';
import { isHalyardError, type ErrorCode } from '../core/errors.js';
import type { Actor, RegistryService } from '../registry/service.js';

export interface LiveCaller {
  actor: Actor;
  user: z.infer<typeof UserDto>;
  /** Kept to check, while the socket stays open, that the session still holds. */
  token: string;
  address: string;
}

export type LiveAuthResult =
  | { ok: true; caller: LiveCaller }
  | { ok: false; status: '401 Unauthorized' | '403 Forbidden'; error: ErrorCode; message: string };

const unauthenticated = (message: string): LiveAuthResult => ({
  ok: false,
  status: '401 Unauthorized',
  error: 'UNAUTHENTICATED',
  message,
});

export async function authenticateLive(
  req: IncomingMessage,
  registry: RegistryService,
): Promise<LiveAuthResult> {
  const address = req.socket.remoteAddress ?? '';
  let token = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token') ?? '';
  if (token === '') {
    token = (req.headers.cookie && fastifyCookie.parse(req.headers.cookie)[SESSION_COOKIE]) || '';
    if (token === '') return unauthenticated('sign in, or pass ?token=<session or API token>');
    const origin = req.headers.origin;
    if (origin !== undefined && originHost(origin) !== req.headers.host?.toLowerCase()) {
      return {
        ok: false,
        status: '403 Forbidden',
        error: 'NOT_AUTHORIZED',
        message: 'the Origin header does not match the Host',
      };
    }
  }
  const actor = await registry.resolveBearer(token, address);
  if (!actor) return unauthenticated('the session or token is invalid, expired or revoked');
  const user = await registry.getUser(actor, actor.id).catch((err: unknown) => {
    // Deleted between the two reads: as good as no session.
    if (isHalyardError(err) && err.code === 'NOT_FOUND') return undefined;
    throw err;
  });
  if (!user) return unauthenticated('the session or token is invalid, expired or revoked');
  return { ok: true, caller: { actor: { ...actor, address }, user: userDto(user), token, address } };
}
