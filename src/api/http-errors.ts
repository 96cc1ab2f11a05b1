/**
 * The one place where errors become HTTP: HalyardError codes map to statuses,
 * schema failures name the field, and anything unexpected is a bare 500 whose
 * details go to the log only.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { isHalyardError, type ErrorCode } from '../core/errors.js';
import { ErrorBody } from './dto.js';

export interface ErrorResponse {
  error: string;
  message: string;
  field?: string;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_INPUT: 400,
  TOPIC_INVALID: 400,
  // A wrong *current* password while changing one's own: the session is fine, so not 401
  // (a client would take that for "signed out"); the field names the culprit.
  BAD_CREDENTIALS: 400,
  UNAUTHENTICATED: 401,
  TOTP_REQUIRED: 401,
  NOT_AUTHORIZED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  LOCKED_OUT: 429,
  QUOTA_EXCEEDED: 429,
};

/** Response schemas for the error statuses a route can answer with (every route may 400/401/403/404/500). */
export function errorResponses(...extra: Array<409 | 429>) {
  const base = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 500: ErrorBody };
  return Object.fromEntries([...Object.entries(base), ...extra.map((s) => [s, ErrorBody])]) as typeof base &
    Partial<Record<409 | 429, typeof ErrorBody>>;
}

export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

export function sendError(reply: FastifyReply, status: number, body: ErrorResponse): FastifyReply {
  return reply.code(status).type('application/json').send(body);
}

/**
 * `body` + `/acl/0/topic` → `body.acl[0].topic`, `querystring` + `/limit` → `query.limit`;
 * an unknown key is reported as the key itself.
 */
function fieldOf(context: string | undefined, instancePath: string, params: Record<string, unknown>): string {
  const parts = instancePath.split('/').filter((p) => p !== '');
  const keys = params.keys;
  if (Array.isArray(keys) && typeof keys[0] === 'string') parts.push(keys[0]);
  let field = context === 'querystring' ? 'query' : (context ?? 'body');
  for (const part of parts) field += /^\d+$/.test(part) ? `[${part}]` : `.${part}`;
  return field;
}

export function handleApiError(
  err: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if (hasZodFastifySchemaValidationErrors(err)) {
    const first = err.validation[0];
    const field = fieldOf(err.validationContext, first.instancePath, first.params);
    return sendError(reply, 400, { error: 'INVALID_INPUT', message: `${field}: ${first.message}`, field });
  }
  if (err.validation) {
    // A schema that is not zod (none today): still a 400, without a field path we can trust.
    return sendError(reply, 400, { error: 'INVALID_INPUT', message: err.message });
  }
  if (isHalyardError(err)) {
    const status = STATUS[err.code];
    if (status !== undefined) {
      const retryAfterMs = err.context.retryAfterMs;
      if (err.code === 'LOCKED_OUT' && typeof retryAfterMs === 'number') {
        void reply.header('retry-after', retryAfterSeconds(retryAfterMs));
      }
      const field = typeof err.context.field === 'string' ? err.context.field : undefined;
      return sendError(reply, status, {
        error: err.code,
        message: err.message,
        ...(field !== undefined ? { field } : {}),
      });
    }
  } else if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return sendError(reply, 400, {
      error: 'INVALID_INPUT',
      message: `the request body is not valid JSON (${err.message})`,
      field: 'body',
    });
  } else if (
    !isResponseSerializationError(err) &&
    typeof err.statusCode === 'number' &&
    err.statusCode >= 400 &&
    err.statusCode < 500
  ) {
    // Fastify's own request errors (415 media type, 413 body too large…): the client's fault, safe to echo.
    return sendError(reply, err.statusCode, { error: 'INVALID_INPUT', message: err.message });
  }
  request.log.error({ err, method: request.method, url: request.routeOptions.url }, 'API request failed');
  return sendError(reply, 500, { error: 'INTERNAL', message: 'internal error' });
}

export function handleNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendError(reply, 404, {
    error: 'NOT_FOUND',
    message: `no route ${request.method} ${request.url.split('?')[0]}`,
  });
}
