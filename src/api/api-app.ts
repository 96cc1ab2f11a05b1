import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { RegistryService } from '../registry/service.js';

/** The /api context: the app with zod schemas for validation, serialisation and OpenAPI. */
export type ApiApp = FastifyInstance<
  Server,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** What route modules need; the registry checks roles and tenants, the routes only translate HTTP. */
export interface RouteDeps {
  registry: RegistryService;
  presence: { isOnline(deviceId: string): boolean };
  secureCookies: boolean;
}
