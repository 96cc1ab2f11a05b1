import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectStatus, openApiHarness, type ApiHarness } from './api-test-support.js';

interface Operation {
  summary?: string;
  tags?: string[];
  security?: unknown[];
  parameters?: Array<{ in: string; name: string }>;
  requestBody?: unknown;
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

interface OpenApiDoc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown> }>; securitySchemes: object };
  security: unknown[];
}

/** The contract the CLI and the dashboard code against. */
const CONTRACT = [
  'POST /api/auth/login',
  'POST /api/auth/logout',
  'GET /api/me',
  'POST /api/me/totp',
  'POST /api/me/totp/confirm',
  'DELETE /api/me/totp',
  'POST /api/me/mqtt-credentials',
  'GET /api/tokens',
  'POST /api/tokens',
  'DELETE /api/tokens/{id}',
  'GET /api/tenants',
  'POST /api/tenants',
  'GET /api/tenants/{id}',
  'PATCH /api/tenants/{id}',
  'DELETE /api/tenants/{id}',
  'GET /api/tenants/{id}/cas',
  'POST /api/tenants/{id}/cas',
  'DELETE /api/tenants/{id}/cas/{caId}',
  'GET /api/users',
  'POST /api/users',
  'GET /api/users/{id}',
  'PATCH /api/users/{id}',
  'DELETE /api/users/{id}',
  'PUT /api/users/{id}/password',
  'DELETE /api/users/{id}/totp',
  'GET /api/profiles',
  'POST /api/profiles',
  'GET /api/profiles/{id}',
  'PATCH /api/profiles/{id}',
  'DELETE /api/profiles/{id}',
  'GET /api/profiles/{id}/acl',
  'PUT /api/profiles/{id}/acl',
  'GET /api/devices',
  'POST /api/devices',
  'GET /api/devices/{id}',
  'PATCH /api/devices/{id}',
  'DELETE /api/devices/{id}',
  'POST /api/devices/{id}/activate',
  'POST /api/devices/{id}/deactivate',
  'GET /api/devices/{id}/acl',
  'PUT /api/devices/{id}/acl',
  'GET /api/devices/{id}/credentials',
  'POST /api/devices/{id}/credentials',
  'POST /api/devices/{id}/credentials/{credentialId}/rotate',
  'DELETE /api/devices/{id}/credentials/{credentialId}',
  'GET /api/audit',
  'GET /api/openapi.json',
];

describe('REST API: OpenAPI document', () => {
  let h: ApiHarness;
  let doc: OpenApiDoc;
  before(async () => {
    h = await openApiHarness();
    const res = await expectStatus(h, 200, 'GET', '/api/openapi.json');
    assert.match(String(res.headers['content-type']), /^application\/json/);
    doc = res.json<OpenApiDoc>();
  });
  after(() => h.close());

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })),
    );

  it('is OpenAPI 3.x, served without authentication', () => {
    assert.match(doc.openapi, /^3\.\d+\.\d+$/);
    assert.equal(doc.info.title, 'Halyard API');
    assert.ok('bearer' in doc.components.securitySchemes && 'session' in doc.components.securitySchemes);
  });

  it('lists exactly the API routes: every route of the contract and nothing outside /api', () => {
    const documented = operations()
      .map((o) => o.key)
      .sort();
    assert.deepEqual(documented, [...CONTRACT].sort());
    const registered = h.routes
      .filter((r) => !r.startsWith('HEAD '))
      .map((r) => r.replace(/:(\w+)/g, '{$1}'))
      .sort();
    assert.deepEqual(registered, documented);
  });

  it('every operation has a summary, tags, its parameters and a described success response', () => {
    for (const { key, op } of operations()) {
      assert.ok(op.summary && op.summary.length > 5, `${key} summary`);
      assert.ok(op.tags && op.tags.length > 0, `${key} tags`);
      const responses = Object.keys(op.responses ?? {});
      const success = responses.filter((code) => code.startsWith('2'));
      assert.equal(success.length, 1, `${key} has one success response: ${responses.join(',')}`);
      if (success[0] !== '204') {
        assert.ok(op.responses?.[success[0]].content?.['application/json']?.schema, `${key} success schema`);
      }
      if (!key.endsWith('/openapi.json')) {
        for (const code of ['400', '401', '404'])
          assert.ok(responses.includes(code), `${key} documents ${code}`);
      }
      for (const name of [...key.matchAll(/\{(\w+)\}/g)].map((m) => m[1])) {
        assert.ok(
          op.parameters?.some((p) => p.in === 'path' && p.name === name),
          `${key} documents path parameter ${name}`,
        );
      }
      if (
        /^(POST|PUT|PATCH) /.test(key) &&
        !/activate$|rotate$|logout$|\/me\/totp$|mqtt-credentials$/.test(key)
      ) {
        assert.ok(op.requestBody, `${key} documents its body`);
      }
    }
    const list = doc.paths['/api/devices'].get;
    const query = (list.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
    assert.deepEqual(query.sort(), [
      'active',
      'limit',
      'offset',
      'profileId',
      'search',
      'tag',
      'tenantId',
      'type',
    ]);
  });

  it('sign-in and the document itself need no credentials; everything else does', () => {
    for (const { key, op } of operations()) {
      const open = key === 'POST /api/auth/login' || key === 'GET /api/openapi.json';
      assert.equal(op.security !== undefined && op.security.length === 0, open, key);
    }
    assert.deepEqual(doc.security, [{ bearer: [] }, { session: [] }]);
  });

  it('names its schemas, every $ref resolves, and no schema has a secret or hash field', () => {
    const text = JSON.stringify(doc);
    for (const [, name] of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
      assert.ok(doc.components.schemas[name], `$ref ${name} resolves`);
    }
    for (const name of [
      'Device',
      'Credential',
      'IssuedCredential',
      'User',
      'ApiToken',
      'AuditEntry',
      'Error',
    ]) {
      assert.ok(doc.components.schemas[name], `schema ${name}`);
    }
    assert.doesNotMatch(text, /passwordHash|tokenHash/);
    const tenant = doc.components.schemas.Tenant.properties ?? {};
    assert.ok('retentionDays' in tenant && 'keyRetentionDays' in tenant, 'Tenant shows retention');
    assert.ok(!('secret' in (doc.components.schemas.Credential.properties ?? {})));
    assert.ok('secret' in (doc.components.schemas.IssuedCredential.properties ?? {}));
  });
});
