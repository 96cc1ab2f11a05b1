import { z } from 'zod';
import { HalyardError } from '../../core/errors.js';
import type { Actor, CredentialRequest, RegistryService } from '../../registry/service.js';
import type { ApiApp, RouteDeps } from '../api-app.js';
import { actorOf } from '../authenticate.js';
import { CredentialDto, credentialDto, IssuedCredentialDto, issuedCredentialDto } from '../dto.js';
import { errorResponses } from '../http-errors.js';
import { CredentialInput, CredentialParams, IdParams } from '../inputs.js';

const tags = ['credentials'];

/** The URL names the device, so a credential of another device (or tenant) must look absent. */
async function assertCredentialOf(registry: RegistryService, actor: Actor, deviceId: string, id: string) {
  const credentials = await registry.listCredentials(actor, deviceId);
  if (!credentials.some((c) => c.id === id)) {
    throw new HalyardError('NOT_FOUND', `device ${deviceId} has no credential ${id}`);
  }
}

function toRequest(input: z.infer<typeof CredentialInput>): CredentialRequest {
  if (input.kind !== 'certificate') return input;
  return input.certPem !== undefined
    ? { kind: 'certificate', certPem: input.certPem }
    : { kind: 'certificate', days: input.days };
}

export function registerCredentialRoutes(app: ApiApp, { registry }: RouteDeps): void {
  app.get(
    '/devices/:id/credentials',
    {
      schema: {
        summary: "List a device's credentials, revoked ones included (never their secrets)",
        tags,
        params: IdParams,
        response: { 200: z.array(CredentialDto), ...errorResponses() },
      },
    },
    async (request) =>
      (await registry.listCredentials(actorOf(request), request.params.id)).map(credentialDto),
  );

  app.post(
    '/devices/:id/credentials',
    {
      schema: {
        summary: 'Issue a credential: the secret (or private key) is in this response and never again',
        tags,
        params: IdParams,
        body: CredentialInput,
        response: { 201: IssuedCredentialDto, ...errorResponses(409) },
      },
    },
    async (request, reply) => {
      const issued = await registry.issueCredential(
        actorOf(request),
        request.params.id,
        toRequest(request.body),
      );
      return reply.code(201).send(issuedCredentialDto(issued));
    },
  );

  app.post(
    '/devices/:id/credentials/:credentialId/rotate',
    {
      schema: {
        summary: 'Rotate a credential: a new one of the same kind; the old one stays valid until revoked',
        tags,
        params: CredentialParams,
        response: { 201: IssuedCredentialDto, ...errorResponses(409) },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      await assertCredentialOf(registry, actor, request.params.id, request.params.credentialId);
      const issued = await registry.rotateCredential(actor, request.params.credentialId);
      return reply.code(201).send(issuedCredentialDto(issued));
    },
  );

  app.delete(
    '/devices/:id/credentials/:credentialId',
    {
      schema: {
        summary: 'Revoke a credential: connections using it are closed',
        tags,
        params: CredentialParams,
        response: { 200: CredentialDto, ...errorResponses() },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      await assertCredentialOf(registry, actor, request.params.id, request.params.credentialId);
      return credentialDto(await registry.revokeCredential(actor, request.params.credentialId));
    },
  );
}
