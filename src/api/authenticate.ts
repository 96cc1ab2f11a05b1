/**
 * Who is calling: a Bearer token (API token or session token) or the session
 * cookie. Cookie-authenticated writes must also pass the CSRF rule, because a
 * browser attaches the cookie to cross-site requests while it never invents an
 * Authorization header or a custom header on its own. The ThingSpeak channel
 * management routes accept the cookie under the same rule (cookieActor).
 */
// For the types of request.cookies and reply.setCookie (the plugin is registered in registry-api.ts
// and in the ThingSpeak API, thingspeak/http/api.ts).
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { HalyardError, isHalyardError } from '../core/errors.js';
import type { Actor, RegistryService } from '../registry/service.js';

export const SESSION_COOKIE = 'halyard_session';
export const CSRF_HEADER = 'x-halyard-csrf';

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

// A WeakMap rather than a request decorator: the actor stays private to the API's routes.
const actors = new WeakMap<FastifyRequest, Actor>();

/** The authenticated caller; only routes behind `authenticate` may ask. */
export function actorOf(request: FastifyRequest): Actor {
  const actor = actors.get(request);
  if (!actor) throw new HalyardError('UNAUTHENTICATED', 'sign in, or send Authorization: Bearer <token>');
  return actor;
}

/** The Bearer token, undefined without an Authorization header; a header of another scheme is an error. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  if (!match) throw new HalyardError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <token>"');
  return match[1];
}

/** The token the request presents: the Bearer token, else the session cookie (as `authenticate` reads them). */
export function presentedToken(request: FastifyRequest): string | undefined {
  return bearerToken(request) ?? sessionCookie(request);
}

export function sessionCookie(request: FastifyRequest): string | undefined {
  const value = request.cookies[SESSION_COOKIE];
  return value === undefined || value === '' ? undefined : value;
}

/** Why a cookie-authenticated request fails the CSRF rule, or undefined when it passes. */
export function csrfProblem(request: FastifyRequest): string | undefined {
  if (!UNSAFE_METHODS.has(request.method)) return undefined;
  if (request.headers[CSRF_HEADER] !== '1') {
    return `a request authenticated by the session cookie must send the header ${CSRF_HEADER}: 1`;
  }
  const origin = request.headers.origin;
  if (origin !== undefined && originHost(origin) !== request.headers.host?.toLowerCase()) {
    return 'the Origin header does not match the Host';
  }
  return undefined;
}

/** The host:port an Origin header names, lower-cased; undefined for "null" and garbage. */
export function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return undefined; // "null" (sandboxed frames, file:) or garbage: never a match
  }
}

export function setSessionCookie(
  reply: FastifyReply,
  token: string,
  expiresAt: number,
  secure: boolean,
): void {
  void reply.setCookie(SESSION_COOKIE, token, { ...cookieOptions(secure), expires: new Date(expiresAt) });
}

export function clearSessionCookie(reply: FastifyReply, secure: boolean): void {
  void reply.clearCookie(SESSION_COOKIE, cookieOptions(secure));
}

function cookieOptions(secure: boolean) {
  return { path: '/', httpOnly: true, sameSite: 'strict', secure } as const;
}

/** onRequest hook for every route that needs a caller: runs before the body is even read. */
export function authenticate(registry: RegistryService, secureCookies: boolean): onRequestAsyncHookHandler {
  return async (request, reply) => {
    const bearer = bearerToken(request);
    if (bearer !== undefined) {
      const actor = await registry.resolveBearer(bearer, request.ip);
      if (!actor) throw new HalyardError('UNAUTHENTICATED', 'the token is invalid, expired or revoked');
      actors.set(request, { ...actor, address: request.ip });
      return;
    }
    const cookie = sessionCookie(request);
    if (cookie === undefined) {
      throw new HalyardError('UNAUTHENTICATED', 'sign in, or send Authorization: Bearer <token>');
    }
    try {
      actors.set(request, await cookieActor(registry, request, cookie));
    } catch (err) {
      if (isHalyardError(err, 'UNAUTHENTICATED')) clearSessionCookie(reply, secureCookies);
      throw err;
    }
  };
}

/**
 * The caller a session cookie names, held to the CSRF rule: UNAUTHENTICATED when the
 * session is gone, NOT_AUTHORIZED when a write lacks the CSRF header or comes from
 * another origin.
 */
export async function cookieActor(
  registry: RegistryService,
  request: FastifyRequest,
  cookie: string,
): Promise<Actor> {
  const actor = await registry.resolveBearer(cookie, request.ip);
  if (!actor) throw new HalyardError('UNAUTHENTICATED', 'the session has expired; sign in again');
  const problem = csrfProblem(request);
  if (problem !== undefined) throw new HalyardError('NOT_AUTHORIZED', problem);
  return { ...actor, address: request.ip };
}
