import { z } from 'zod';
import type { ApiApp, RouteDeps } from '../api-app.js';
import { actorOf } from '../authenticate.js';
import { AuditEntryDto, auditEntryDto } from '../dto.js';
import { errorResponses } from '../http-errors.js';
import { AuditQueryInput } from '../inputs.js';

export function registerAuditRoutes(app: ApiApp, { registry }: RouteDeps): void {
  app.get(
    '/audit',
    {
      schema: {
        summary: 'Query the audit log, newest first',
        description:
          'Times are milliseconds since the epoch; page backwards with beforeId = the last id seen.',
        tags: ['audit'],
        querystring: AuditQueryInput,
        response: { 200: z.array(AuditEntryDto), ...errorResponses() },
      },
    },
    async (request) => (await registry.queryAudit(actorOf(request), request.query)).map(auditEntryDto),
  );
}
