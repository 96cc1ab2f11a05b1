import { z } from 'zod';
import type { ApiApp, RouteDeps } from '../api-app.js';
import { actorOf } from '../authenticate.js';
import { AclDto, NoContent, ProfileDto, profileDto } from '../dto.js';
import { errorResponses } from '../http-errors.js';
import { AclInput, IdParams, NewProfileInput, ProfilePatchInput, TenantFilter } from '../inputs.js';

const tags = ['profiles'];

export function registerProfileRoutes(app: ApiApp, { registry }: RouteDeps): void {
  app.get(
    '/profiles',
    {
      schema: {
        summary: 'List device profiles',
        tags,
        querystring: TenantFilter,
        response: { 200: z.array(ProfileDto), ...errorResponses() },
      },
    },
    async (request) => (await registry.listProfiles(actorOf(request), request.query)).map(profileDto),
  );

  app.post(
    '/profiles',
    {
      schema: {
        summary: 'Create a device profile',
        tags,
        body: NewProfileInput,
        response: { 201: ProfileDto, ...errorResponses(409) },
      },
    },
    async (request, reply) => {
      const profile = await registry.createProfile(actorOf(request), request.body);
      return reply.code(201).send(profileDto(profile));
    },
  );

  app.get(
    '/profiles/:id',
    {
      schema: {
        summary: 'Get a device profile',
        tags,
        params: IdParams,
        response: { 200: ProfileDto, ...errorResponses() },
      },
    },
    async (request) => profileDto(await registry.getProfile(actorOf(request), request.params.id)),
  );

  app.patch(
    '/profiles/:id',
    {
      schema: {
        summary: 'Change a device profile',
        tags,
        params: IdParams,
        body: ProfilePatchInput,
        response: { 200: ProfileDto, ...errorResponses() },
      },
    },
    async (request) =>
      profileDto(await registry.updateProfile(actorOf(request), request.params.id, request.body)),
  );

  app.delete(
    '/profiles/:id',
    {
      schema: {
        summary: 'Delete a device profile (refused with 409 while devices use it)',
        tags,
        params: IdParams,
        response: { 204: NoContent, ...errorResponses(409) },
      },
    },
    async (request, reply) => {
      await registry.deleteProfile(actorOf(request), request.params.id);
      return reply.code(204).send();
    },
  );

  app.get(
    '/profiles/:id/acl',
    {
      schema: {
        summary: "A profile's topic ACL (for its devices without an ACL of their own)",
        tags,
        params: IdParams,
        response: { 200: AclDto, ...errorResponses() },
      },
    },
    async (request) => ({ rules: (await registry.getProfile(actorOf(request), request.params.id)).acl }),
  );

  app.put(
    '/profiles/:id/acl',
    {
      schema: {
        summary: "Replace a profile's topic ACL",
        tags,
        params: IdParams,
        body: AclInput,
        response: { 200: AclDto, ...errorResponses() },
      },
    },
    async (request) => {
      const profile = await registry.updateProfile(actorOf(request), request.params.id, {
        acl: request.body.rules,
      });
      return { rules: profile.acl };
    },
  );
}
