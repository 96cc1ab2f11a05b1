import { z } from 'zod';
import type { ApiApp, RouteDeps } from '../api-app.js';
import { actorOf } from '../authenticate.js';
import { NoContent, UserDto, userDto } from '../dto.js';
import { errorResponses } from '../http-errors.js';
import { IdParams, NewUserInput, PasswordInput, TenantFilter, UserPatchInput } from '../inputs.js';

const tags = ['users'];

export function registerUserRoutes(app: ApiApp, { registry }: RouteDeps): void {
  app.get(
    '/users',
    {
      schema: {
        summary: 'List users',
        tags,
        querystring: TenantFilter,
        response: { 200: z.array(UserDto), ...errorResponses() },
      },
    },
    async (request) => (await registry.listUsers(actorOf(request), request.query)).map(userDto),
  );

  app.post(
    '/users',
    {
      schema: {
        summary: 'Create a user',
        tags,
        body: NewUserInput,
        response: { 201: UserDto, ...errorResponses(409) },
      },
    },
    async (request, reply) => {
      const user = await registry.createUser(actorOf(request), request.body);
      return reply.code(201).send(userDto(user));
    },
  );

  app.get(
    '/users/:id',
    {
      schema: {
        summary: 'Get a user',
        tags,
        params: IdParams,
        response: { 200: UserDto, ...errorResponses() },
      },
    },
    async (request) => userDto(await registry.getUser(actorOf(request), request.params.id)),
  );

  app.patch(
    '/users/:id',
    {
      schema: {
        summary: "Change a user's role or (de)activate them",
        tags,
        params: IdParams,
        body: UserPatchInput,
        response: { 200: UserDto, ...errorResponses() },
      },
    },
    async (request) => userDto(await registry.updateUser(actorOf(request), request.params.id, request.body)),
  );

  app.put(
    '/users/:id/password',
    {
      schema: {
        summary: "Set a user's password",
        description: 'Your own password needs currentPassword; an admin may set anybody in their scope.',
        tags,
        params: IdParams,
        body: PasswordInput,
        response: { 204: NoContent, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { password, currentPassword } = request.body;
      await registry.setPassword(actorOf(request), request.params.id, password, currentPassword);
      return reply.code(204).send();
    },
  );

  app.delete(
    '/users/:id/totp',
    {
      schema: {
        summary: "Remove a user's second factor (a lost phone)",
        description:
          "For an admin of the user's tenant, or a platform admin; never for one's own (turn that off with " +
          'DELETE /api/me/totp and a code). The user then signs in with the password alone and may enrol again.',
        tags,
        params: IdParams,
        response: { 204: NoContent, ...errorResponses() },
      },
    },
    async (request, reply) => {
      await registry.resetTotp(actorOf(request), request.params.id);
      return reply.code(204).send();
    },
  );

  app.delete(
    '/users/:id',
    {
      schema: {
        summary: 'Delete a user (and their sessions and API tokens)',
        tags,
        params: IdParams,
        response: { 204: NoContent, ...errorResponses() },
      },
    },
    async (request, reply) => {
      await registry.deleteUser(actorOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
}
