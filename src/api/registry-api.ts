/**
 * The registry's REST API under /api: one encapsulated Fastify plugin, so its
 * validators, error format, cookies and OpenAPI document stay out of /healthz
 * and /metrics. Routes only translate HTTP; the registry checks roles and
 * tenants, writes the audit log and emits events (see registry/service.ts).
 */
import fastifyCookie from '@fastify/cookie';
import fastifySwagger, { type SwaggerTransformObject } from '@fastify/swagger';
import {
  createJsonSchemaTransform,
  createJsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RegistryService } from '../registry/service.js';
import type { HttpApp } from '../transport/http.js';
import type { ApiApp, RouteDeps } from './api-app.js';
import { authenticate, SESSION_COOKIE } from './authenticate.js';
import { apiSchemas } from './dto.js';
import { handleApiError, handleNotFound } from './http-errors.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerMeRoute, registerSessionRoutes } from './routes/auth.js';
import { registerCredentialRoutes } from './routes/credentials.js';
import { registerDeviceRoutes } from './routes/devices.js';
import { registerProfileRoutes } from './routes/profiles.js';
import { registerTenantRoutes } from './routes/tenants.js';
import { registerTokenRoutes } from './routes/tokens.js';
import { registerTotpRoutes } from './routes/totp.js';
import { registerUserRoutes } from './routes/users.js';

export interface RegistryApiOptions {
  registry: RegistryService;
  presence: { isOnline(deviceId: string): boolean };
  /** Set the cookie's Secure flag (the app is served over HTTPS). */
  secureCookies: boolean;
  /** More route modules inside /api (telemetry-api.ts): they share its error format and OpenAPI document. */
  extensions?: ApiExtension[];
}

/** Registers routes in the /api context, which has the zod compilers, error handler and swagger. */
export type ApiExtension = (api: ApiApp, deps: RouteDeps) => Promise<void>;

export const API_PREFIX = '/api';

export async function registerRegistryApi(app: HttpApp, opts: RegistryApiOptions): Promise<void> {
  const deps: RouteDeps = {
    registry: opts.registry,
    presence: opts.presence,
    secureCookies: opts.secureCookies,
  };
  await app.register(
    async (root) => {
      const api = root.withTypeProvider<ZodTypeProvider>();
      api.setValidatorCompiler(validatorCompiler);
      api.setSerializerCompiler(serializerCompiler);
      api.setErrorHandler(handleApiError);
      api.setNotFoundHandler(handleNotFound);
      acceptEmptyJsonBodies(api);
      await api.register(fastifyCookie);
      await registerOpenApi(api);

      registerSessionRoutes(api, deps);
      await api.register((secured: ApiApp, _opts, done) => {
        secured.addHook('onRequest', authenticate(deps.registry, deps.secureCookies));
        registerMeRoute(secured, deps);
        registerTotpRoutes(secured, deps);
        registerTokenRoutes(secured, deps);
        registerTenantRoutes(secured, deps);
        registerUserRoutes(secured, deps);
        registerProfileRoutes(secured, deps);
        registerDeviceRoutes(secured, deps);
        registerCredentialRoutes(secured, deps);
        registerAuditRoutes(secured, deps);
        done();
      });
      for (const extend of opts.extensions ?? []) await extend(api, deps);
    },
    { prefix: API_PREFIX },
  );
}

/**
 * Clients (the CLI among them) often send `Content-Type: application/json` on a
 * POST without a body, such as /devices/:id/activate. Treat that as no body;
 * routes that need one still get a 400 naming `body`.
 */
function acceptEmptyJsonBodies(api: ApiApp): void {
  const parseJson = api.getDefaultJsonParser('error', 'error');
  api.removeContentTypeParser('application/json');
  api.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    // Fastify's parser (with its __proto__ guard) is synchronous; its type merely allows a promise.
    void parseJson(request, body.toString(), done);
  });
}

async function registerOpenApi(api: ApiApp): Promise<void> {
  await api.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Halyard API',
        version: '1',
        description:
          'Tenants, users, device profiles, devices, credentials and the audit log. See docs/api.md.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API token or session token' },
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
    transform: createJsonSchemaTransform({ schemaRegistry: apiSchemas }),
    transformObject: pruneUnusedSchemas(createJsonSchemaTransformObject({ schemaRegistry: apiSchemas })),
  });

  api.get(
    '/openapi.json',
    {
      schema: {
        summary: 'This OpenAPI document',
        tags: ['meta'],
        security: [],
        response: { 200: z.looseObject({ openapi: z.string() }) },
      },
    },
    () => api.swagger() as { openapi: string },
  );
}

/**
 * The zod transform lists every named schema twice (as input and as output); most are
 * only ever one of the two. Keep the components some operation actually references.
 */
function pruneUnusedSchemas(transform: SwaggerTransformObject): SwaggerTransformObject {
  return (input) => {
    const result = transform(input);
    const doc = result as OpenApiShape;
    const schemas = doc.components?.schemas;
    if (!schemas) return result;
    const used = new Set<string>();
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(visit);
      else if (typeof node === 'object' && node !== null) {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref' && typeof value === 'string' && value.startsWith(REF_PREFIX)) {
            const name = value.slice(REF_PREFIX.length);
            if (!used.has(name)) {
              used.add(name);
              visit(schemas[name]);
            }
          } else visit(value);
        }
      }
    };
    visit(doc.paths);
    const kept = Object.fromEntries(Object.entries(schemas).filter(([name]) => used.has(name)));
    return { ...doc, components: { ...doc.components, schemas: kept } } as ReturnType<SwaggerTransformObject>;
  };
}

const REF_PREFIX = '#/components/schemas/';

/** The parts of an OpenAPI 3.x document the pruning reads, common to every version. */
interface OpenApiShape {
  paths?: unknown;
  components?: { schemas?: Record<string, unknown> };
}
