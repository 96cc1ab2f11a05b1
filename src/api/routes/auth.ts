import { z } from 'zod';
import { HalyardError } from '../../core/errors.js';
import type { ApiApp, RouteDeps } from '../api-app.js';
import {
  actorOf,
  bearerToken,
  clearSessionCookie,
  csrfProblem,
  presentedToken,
  sessionCookie,
  setSessionCookie,
} from '../authenticate.js';
import { NoContent, UserDto, userDto } from '../dto.js';
import { errorResponses } from '../http-errors.js';
import { LoginInput } from '../inputs.js';

const tags = ['auth'];

/** Sign-in and sign-out: reachable without a caller. */
export function registerSessionRoutes(app: ApiApp, deps: RouteDeps): void {
  const { registry, secureCookies } = deps;

  app.post(
    '/auth/login',
    {
      schema: {
        summary: 'Sign in with username and password (and a TOTP code, if the user has a second factor)',
        description:
          'Returns a session token (usable as a Bearer token) and sets the HttpOnly session cookie. ' +
          'Unknown users and wrong passwords get the same 401; repeated failures lock the identity and the address (429). ' +
          'A user with a second factor must also send `totp`: without it a right password is answered with ' +
          '401 TOTP_REQUIRED (send the same request again with the code); a wrong or already used code is a ' +
          '401 UNAUTHENTICATED and counts toward the lock like a wrong password.',
        tags,
        security: [],
        body: LoginInput,
        response: {
          200: z.object({ token: z.string(), expiresAt: z.number().int(), user: UserDto }),
          ...errorResponses(429),
        },
      },
    },
    async (request, reply) => {
      const ctx = { address: request.ip, via: 'http' };
      const { username, password, totp } = request.body;
      const result = await registry.loginUser(username, password, ctx, totp);
      if (!result.ok) {
        if (result.reason === 'locked-out') {
          throw new HalyardError('LOCKED_OUT', 'too many failed sign-ins; try again later', {
            retryAfterMs: result.retryAfterMs ?? 60_000,
          });
        }
        if (result.reason === 'totp-required') {
          throw new HalyardError('TOTP_REQUIRED', 'enter the current code of your second factor', {
            field: 'totp',
          });
        }
        // Deactivated users get the same answer as a wrong password: nothing to learn by probing.
        const wrong = totp === undefined ? 'wrong username or password' : 'wrong username, password or code';
        throw new HalyardError('UNAUTHENTICATED', wrong);
      }
      const session = await registry.createSession(result.user, ctx);
      setSessionCookie(reply, session.token, session.expiresAt, secureCookies);
      return { token: session.token, expiresAt: session.expiresAt, user: userDto(result.user) };
    },
  );

  app.post(
    '/auth/logout',
    {
      schema: {
        summary: 'Sign out: end the session and clear the cookie',
        description: 'Ends the session named by the Bearer token and/or the cookie. Idempotent.',
        tags,
        response: { 204: NoContent, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const bearer = bearerToken(request);
      const cookie = sessionCookie(request);
      if (bearer === undefined && cookie !== undefined) {
        const problem = csrfProblem(request);
        if (problem !== undefined) throw new HalyardError('NOT_AUTHORIZED', problem);
      }
      for (const token of new Set([bearer, cookie])) {
        if (token !== undefined) await registry.endSession(token);
      }
      clearSessionCookie(reply, secureCookies);
      return reply.code(204).send();
    },
  );
}

/** The signed-in caller: who they are, and MQTT credentials for the dashboard's console. */
export function registerMeRoute(app: ApiApp, deps: RouteDeps): void {
  app.get(
    '/me',
    {
      schema: {
        summary: 'The signed-in user, their tenant and role',
        tags,
        response: {
          200: z.object({ user: UserDto, tenantId: z.string().nullable(), role: UserDto.shape.role }),
          ...errorResponses(),
        },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const user = await deps.registry.getUser(actor, actor.id);
      return { user: userDto(user), tenantId: actor.tenantId, role: actor.role };
    },
  );
  app.post(
    '/me/mqtt-credentials',
    {
      schema: {
        summary: 'MQTT credentials for the caller: their username and a ticket valid for one minute',
        description:
          'For browser apps, which cannot read the HttpOnly session cookie and should not keep the password: ' +
          'connect to the broker with this username and password within a minute. The connection lasts until ' +
          'the session (or API token) that asked for it ends. Audited (mqtt-ticket.issue).',
        tags,
        response: {
          200: z.object({
            username: z.string(),
            password: z.string().describe('an MQTT ticket (ht_…): shown this once'),
            expiresAt: z.number().int().describe('connect before this time (ms since the epoch)'),
          }),
          ...errorResponses(),
        },
      },
    },
    // authenticate has checked the token (and, for the cookie, the CSRF rule): it is there.
    (request) => deps.registry.issueMqttTicket(actorOf(request), presentedToken(request)!),
  );
}
