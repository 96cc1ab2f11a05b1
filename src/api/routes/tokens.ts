import { z } from 'zod';
import type { ApiApp, RouteDeps } from '../api-app.js';
import { actorOf } from '../authenticate.js';
import { ApiTokenDto, apiTokenDto, NoContent } from '../dto.js';
import { errorResponses } from '../http-errors.js';
import { ApiTokenInput, IdParams } from '../inputs.js';

const tags = ['tokens'];

/** The caller's own API tokens, for scripts and the CLI. */
export function registerTokenRoutes(app: ApiApp, { registry }: RouteDeps): void {
  app.get(
    '/tokens',
    {
      schema: {
        summary: "List the caller's API tokens",
        tags,
        response: { 200: z.array(ApiTokenDto), ...errorResponses() },
      },
    },
    async (request) => (await registry.listApiTokens(actorOf(request))).map(apiTokenDto),
  );

  app.post(
    '/tokens',
    {
      schema: {
        summary: 'Create an API token (the token is shown once)',
        tags,
        body: ApiTokenInput,
        response: {
          201: z.object({ token: z.string().describe('shown this once'), record: ApiTokenDto }),
          ...errorResponses(),
        },
      },
    },
    async (request, reply) => {
      const { token, record } = await registry.createApiToken(actorOf(request), request.body);
      return reply.code(201).send({ token, record: apiTokenDto(record) });
    },
  );

  app.delete(
    '/tokens/:id',
    {
      schema: {
        summary: 'Revoke an API token',
        tags,
        params: IdParams,
        response: { 204: NoContent, ...errorResponses() },
      },
    },
    async (request, reply) => {
      await registry.revokeApiToken(actorOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
}
