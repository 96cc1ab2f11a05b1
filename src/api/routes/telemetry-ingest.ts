/**
 * HTTP ingest for devices: `POST /api/v1/telemetry` with the device token as
 * Bearer, or ThingsBoard's `POST /api/v1/<token>/telemetry`. The body is read raw
 * and parsed by telemetry/payload.ts, so a bad payload gets the same reason (and
 * field) as over MQTT. 200 only once the points are durable.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HalyardError, isHalyardError } from '../../core/errors.js';
import type { Device } from '../../registry/model.js';
import { parseTelemetry } from '../../telemetry/payload.js';
import type { ApiApp } from '../api-app.js';
import { bearerToken } from '../authenticate.js';
import { ErrorBody } from '../dto.js';
import { errorResponses, retryAfterSeconds, sendError } from '../http-errors.js';
import type { TelemetryApiOptions } from '../telemetry-api.js';
import { AcceptedDto, TelemetryBody } from './telemetry-inputs.js';

const tags = ['telemetry'];
/** How long a device should wait when storage is behind, unless the ingest says. */
const BUSY_RETRY_MS = 1000;

export function registerTelemetryIngestRoutes(app: ApiApp, opts: TelemetryApiOptions): void {
  // The payload parser reports invalid JSON (with its position) and the ThingSpeak form itself.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const schema = {
    tags,
    body: TelemetryBody,
    response: { 200: AcceptedDto, ...errorResponses(429), 503: ErrorBody },
  };
  // The body is checked by parseTelemetry, not by the schema (which documents it).
  const validatorCompiler = () => (value: unknown) => ({ value });

  app.post(
    '/v1/telemetry',
    {
      schema: {
        ...schema,
        summary: 'Send telemetry as a device (Authorization: Bearer <device token>)',
        security: [{ bearer: [] }],
      },
      validatorCompiler,
    },
    async (request, reply) => {
      const token = bearerToken(request);
      if (token === undefined) {
        throw new HalyardError('UNAUTHENTICATED', "send the device's token as Authorization: Bearer <token>");
      }
      return ingest(opts, request, reply, token);
    },
  );

  app.post(
    '/v1/:token/telemetry',
    {
      schema: {
        ...schema,
        summary: 'Send telemetry as a device, the token in the path (ThingsBoard style)',
        params: z.object({ token: z.string().min(1).max(200) }),
        security: [],
      },
      validatorCompiler,
    },
    (request, reply) => ingest(opts, request, reply, request.params.token),
  );
}

async function ingest(
  opts: TelemetryApiOptions,
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
): Promise<FastifyReply> {
  const device = await deviceOf(opts, token, request.ip);
  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const parsed = parseTelemetry(body, {
    tenantId: device.tenantId,
    seriesId: device.id,
    now: (opts.now ?? Date.now)(),
    maxSkewMs: opts.maxSkewMs,
  });
  if (!parsed.ok) {
    const field =
      parsed.field === undefined ? 'body' : `body${parsed.field.startsWith('[') ? '' : '.'}${parsed.field}`;
    throw new HalyardError('INVALID_INPUT', parsed.reason, { field });
  }
  if (parsed.points.length > 0) {
    try {
      await opts.ingest.accept(parsed.points);
    } catch (err) {
      if (!isHalyardError(err, 'QUOTA_EXCEEDED')) throw err;
      const retryAfterMs = err.context.retryAfterMs;
      void reply.header(
        'retry-after',
        retryAfterSeconds(typeof retryAfterMs === 'number' ? retryAfterMs : BUSY_RETRY_MS),
      );
      return sendError(reply, 503, { error: err.code, message: err.message });
    }
  }
  return reply.send({ accepted: parsed.points.length, clamped: parsed.clamped });
}

async function deviceOf(opts: TelemetryApiOptions, token: string, address: string): Promise<Device> {
  const login = await opts.registry.authenticateDeviceToken(token, { address, via: 'http' });
  if (login.ok) return login.device;
  switch (login.reason) {
    case 'locked-out':
      throw new HalyardError('LOCKED_OUT', 'too many failed attempts; try again later', {
        retryAfterMs: login.retryAfterMs,
      });
    case 'deactivated':
      throw new HalyardError('NOT_AUTHORIZED', 'the device is deactivated');
    case 'bad-credentials':
    case 'totp-required': // people only: a device login never asks for a second factor
      throw new HalyardError('UNAUTHENTICATED', 'the device token is invalid, expired or revoked');
  }
}
