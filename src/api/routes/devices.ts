import type { Device } from '../../registry/model.js';
import type { ApiApp, RouteDeps } from '../api-app.js';
import { actorOf } from '../authenticate.js';
import { AclDto, DeviceDto, deviceDto, DevicePageDto, NoContent } from '../dto.js';
import { errorResponses } from '../http-errors.js';
import { AclInput, DeviceListQuery, DevicePatchInput, IdParams, NewDeviceInput } from '../inputs.js';

const tags = ['devices'];

export function registerDeviceRoutes(app: ApiApp, { registry, presence }: RouteDeps): void {
  const dto = (device: Device) => deviceDto(device, presence.isOnline(device.id));

  app.get(
    '/devices',
    {
      schema: {
        summary: 'List devices, filtered and paged',
        tags,
        querystring: DeviceListQuery,
        response: { 200: DevicePageDto, ...errorResponses() },
      },
    },
    async (request) => {
      const page = await registry.listDevices(actorOf(request), request.query);
      return { items: page.items.map(dto), total: page.total };
    },
  );

  app.post(
    '/devices',
    {
      schema: {
        summary: 'Register a device',
        tags,
        body: NewDeviceInput,
        response: { 201: DeviceDto, ...errorResponses(409) },
      },
    },
    async (request, reply) => {
      const device = await registry.createDevice(actorOf(request), request.body);
      return reply.code(201).send(dto(device));
    },
  );

  app.get(
    '/devices/:id',
    {
      schema: {
        summary: 'Get a device',
        tags,
        params: IdParams,
        response: { 200: DeviceDto, ...errorResponses() },
      },
    },
    async (request) => dto(await registry.getDevice(actorOf(request), request.params.id)),
  );

  app.patch(
    '/devices/:id',
    {
      schema: {
        summary: 'Change a device',
        tags,
        params: IdParams,
        body: DevicePatchInput,
        response: { 200: DeviceDto, ...errorResponses() },
      },
    },
    async (request) => dto(await registry.updateDevice(actorOf(request), request.params.id, request.body)),
  );

  app.delete(
    '/devices/:id',
    {
      schema: {
        summary: 'Delete a device and its credentials',
        tags,
        params: IdParams,
        response: { 204: NoContent, ...errorResponses() },
      },
    },
    async (request, reply) => {
      await registry.deleteDevice(actorOf(request), request.params.id);
      return reply.code(204).send();
    },
  );

  for (const [verb, active] of [
    ['activate', true],
    ['deactivate', false],
  ] as const) {
    app.post(
      `/devices/:id/${verb}`,
      {
        schema: {
          summary: active
            ? 'Activate a device: it may connect again'
            : 'Deactivate a device: its connections close at once and it is refused afterwards',
          tags,
          params: IdParams,
          response: { 200: DeviceDto, ...errorResponses() },
        },
      },
      async (request) => dto(await registry.setDeviceActive(actorOf(request), request.params.id, active)),
    );
  }

  app.get(
    '/devices/:id/acl',
    {
      schema: {
        summary: "A device's own topic ACL (empty = its profile's)",
        tags,
        params: IdParams,
        response: { 200: AclDto, ...errorResponses() },
      },
    },
    async (request) => ({ rules: (await registry.getDevice(actorOf(request), request.params.id)).acl }),
  );

  app.put(
    '/devices/:id/acl',
    {
      schema: {
        summary: "Replace a device's topic ACL (empty = use its profile's)",
        tags,
        params: IdParams,
        body: AclInput,
        response: { 200: AclDto, ...errorResponses() },
      },
    },
    async (request) => {
      const device = await registry.updateDevice(actorOf(request), request.params.id, {
        acl: request.body.rules,
      });
      return { rules: device.acl };
    },
  );
}
