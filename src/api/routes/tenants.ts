import { z } from 'zod';
import type { ApiApp, RouteDeps } from '../api-app.js';
import { actorOf } from '../authenticate.js';
import { NoContent, TenantCaDto, tenantCaDto, TenantDto, tenantDto } from '../dto.js';
import { errorResponses } from '../http-errors.js';
import { CaParams, IdParams, NewTenantInput, TenantCaInput, TenantPatchInput } from '../inputs.js';

const tags = ['tenants'];

export function registerTenantRoutes(app: ApiApp, { registry }: RouteDeps): void {
  app.get(
    '/tenants',
    {
      schema: {
        summary: 'List tenants (platform admins: all; others: their own)',
        tags,
        response: { 200: z.array(TenantDto), ...errorResponses() },
      },
    },
    async (request) => (await registry.listTenants(actorOf(request))).map(tenantDto),
  );

  app.post(
    '/tenants',
    {
      schema: {
        summary: 'Create a tenant (platform admins)',
        tags,
        body: NewTenantInput,
        response: { 201: TenantDto, ...errorResponses(409) },
      },
    },
    async (request, reply) => {
      const tenant = await registry.createTenant(actorOf(request), request.body);
      return reply.code(201).send(tenantDto(tenant));
    },
  );

  app.get(
    '/tenants/:id',
    {
      schema: {
        summary: 'Get a tenant',
        tags,
        params: IdParams,
        response: { 200: TenantDto, ...errorResponses() },
      },
    },
    async (request) => tenantDto(await registry.getTenant(actorOf(request), request.params.id)),
  );

  app.patch(
    '/tenants/:id',
    {
      schema: {
        summary: "Change a tenant's name, connection limit (platform admins) or telemetry retention",
        tags,
        params: IdParams,
        body: TenantPatchInput,
        response: { 200: TenantDto, ...errorResponses() },
      },
    },
    async (request) =>
      tenantDto(await registry.updateTenant(actorOf(request), request.params.id, request.body)),
  );

  app.delete(
    '/tenants/:id',
    {
      schema: {
        summary: 'Delete a tenant (refused with 409 while it has devices or users)',
        tags,
        params: IdParams,
        response: { 204: NoContent, ...errorResponses(409) },
      },
    },
    async (request, reply) => {
      await registry.deleteTenant(actorOf(request), request.params.id);
      return reply.code(204).send();
    },
  );

  app.get(
    '/tenants/:id/cas',
    {
      schema: {
        summary: "List the CAs a tenant trusts for its devices' client certificates",
        tags,
        params: IdParams,
        response: { 200: z.array(TenantCaDto), ...errorResponses() },
      },
    },
    async (request) => (await registry.listTenantCas(actorOf(request), request.params.id)).map(tenantCaDto),
  );

  app.post(
    '/tenants/:id/cas',
    {
      schema: {
        summary: 'Trust a CA for device client certificates (mutual TLS)',
        tags,
        params: IdParams,
        body: TenantCaInput,
        response: { 201: TenantCaDto, ...errorResponses(409) },
      },
    },
    async (request, reply) => {
      const ca = await registry.addTenantCa(actorOf(request), request.params.id, request.body.certPem);
      return reply.code(201).send(tenantCaDto(ca));
    },
  );

  app.delete(
    '/tenants/:id/cas/:caId',
    {
      schema: {
        summary: 'Stop trusting a tenant CA',
        tags,
        params: CaParams,
        response: { 204: NoContent, ...errorResponses() },
      },
    },
    async (request, reply) => {
      await registry.removeTenantCa(actorOf(request), request.params.id, request.params.caId);
      return reply.code(204).send();
    },
  );
}
