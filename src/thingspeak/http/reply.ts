/**
 * Every ThingSpeak answer is written here: a literal `Content-Length` header
 * (the Arduino library matches it case-sensitively and rejects chunked
 * bodies, reference §6), the hosted API's CORS headers, and ThingSpeak's
 * error bodies in text, JSON or XML.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { esc, XML_HEAD } from './render.js';

export type Format = 'txt' | 'json' | 'xml' | 'csv';

const CONTENT_TYPES: Record<Format | 'js', string> = {
  txt: 'text/plain; charset=utf-8',
  json: 'application/json; charset=utf-8',
  xml: 'application/xml; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  js: 'application/javascript; charset=utf-8',
};

export const CORS_HEADERS: ReadonlyArray<[string, string]> = [
  ['Access-Control-Allow-Origin', '*'],
  ['Access-Control-Allow-Methods', 'GET, POST, PUT, OPTIONS, DELETE, PATCH'],
  ['Access-Control-Allow-Headers', 'origin, content-type, X-Requested-With'],
  ['Access-Control-Max-Age', '1800'],
];

/**
 * Each format's headers as one flat list (Fastify lower-cases header names, and
 * Node keeps the case it is given), built once: only the length varies.
 */
const headersOf = (format: Format | 'js'): readonly string[] => [
  ...CORS_HEADERS.flat(),
  'Content-Type',
  CONTENT_TYPES[format],
  'Content-Length',
];
const HEADERS: Record<Format | 'js', readonly string[]> = {
  txt: headersOf('txt'),
  json: headersOf('json'),
  xml: headersOf('xml'),
  csv: headersOf('csv'),
  js: headersOf('js'),
};

/** The headers of an answer in this format with this body, as flat name/value pairs. */
export function answerHeaders(format: Format | 'js', body: string): string[] {
  return [...HEADERS[format], String(Buffer.byteLength(body))];
}

/** Writes a whole answer on a raw response: every ThingSpeak answer goes out here or in a fast lane. */
export function writeAnswer(res: ServerResponse, status: number, format: Format | 'js', body: string): void {
  res.writeHead(status, answerHeaders(format, body));
  res.end(body);
}

export function send(reply: FastifyReply, status: number, format: Format | 'js', body: string): void {
  reply.hijack();
  writeAnswer(reply.raw, status, format, body);
}

/** An empty 200 for CORS preflights. */
export function sendPreflight(reply: FastifyReply): void {
  send(reply, 200, 'txt', '');
}

/** JSON, wrapped in `callback(…)` when the request asked for JSONP. */
export function sendJson(reply: FastifyReply, status: number, body: string, callback?: string): void {
  if (callback && /^[A-Za-z_$][\w$.]{0,63}$/.test(callback))
    send(reply, status, 'js', `${callback}(${body})`);
  else send(reply, status, 'json', body);
}

const ERRORS: Record<number, [code: string, message: string, details: string]> = {
  400: ['error_bad_request', 'Bad Request', 'The request cannot be fulfilled due to bad syntax.'],
  401: ['error_auth_required', 'Authorization Required', 'Please make sure that your API key is correct.'],
  // Halyard's own: only a session-cookie write without the CSRF header gets it (docs/thingspeak.md).
  403: ['error_forbidden', 'Forbidden', 'The request is not allowed with the session cookie.'],
  404: ['error_resource_not_found', 'Resource Not Found', 'The requested resource could not be found.'],
  405: ['error_method_invalid', 'Method Not Allowed', 'Please use the correct HTTP method.'],
  409: ['error_conflict', 'Conflict', 'The request conflicts with the current state of the resource.'],
  413: ['error_request_too_large', 'Request Entity Too Large', 'Please reduce the size of the request.'],
  429: ['error_too_many_requests', 'Too Many Requests', 'Please slow down your requests.'],
  500: ['error_internal', 'Internal Server Error', 'The server failed to complete the request.'],
};

/** ThingSpeak's error body for this status in this format; `details` overrides the default text. */
export function errorBody(status: number, format: Format, details?: string): string {
  const [code, message, defaultDetails] = ERRORS[status] ?? ERRORS[500];
  const d = details ?? defaultDetails;
  if (format === 'json')
    return JSON.stringify({ status: String(status), error: { error_code: code, message, details: d } });
  if (format === 'xml')
    return `${XML_HEAD}<error><error-code>${code}</error-code><message>${message}</message><details>${esc(d)}</details></error>`;
  return code;
}

export function sendError(reply: FastifyReply, status: number, format: Format, details?: string): void {
  send(reply, status, format === 'csv' ? 'txt' : format, errorBody(status, format, details));
}

/** The format a path's extension selects: none or `.txt` is text. */
export function formatOf(ext: string | undefined): Format | undefined {
  if (ext === undefined || ext === '' || ext === 'txt') return 'txt';
  if (ext === 'json' || ext === 'xml' || ext === 'csv') return ext;
  return undefined;
}

/** Rails' XML for an empty array of nothing: what clearing a channel answers. */
export const XML_NIL_ARRAY = `${XML_HEAD}<nil-classes type="array"/>`;
