/**
 * Telemetry over HTTP, inside the /api context of registry-api.ts (same error
 * format, same OpenAPI document): device ingest authenticated by the device
 * token, and queries authenticated like the rest of /api. See docs/telemetry.md.
 *
 * Wiring: `registerRegistryApi(app, { …, extensions: [telemetryApi(opts)] })`.
 */
import type { RegistryService } from '../registry/service.js';
import type { DataPoint } from '../telemetry/model.js';
import type { TelemetryStore } from '../telemetry/store.js';
import type { ApiApp } from './api-app.js';
import { authenticate } from './authenticate.js';
import type { ApiExtension } from './registry-api.js';
import { registerTelemetryIngestRoutes } from './routes/telemetry-ingest.js';
import { registerTelemetryQueryRoutes } from './routes/telemetry-query.js';

export interface TelemetryApiOptions {
  registry: RegistryService;
  /** Resolves once the points are durable; rejects with QUOTA_EXCEEDED while storage is behind. */
  ingest: { accept(points: DataPoint[]): Promise<void> };
  store: TelemetryStore;
  /** A device timestamp further than this from server time is replaced by server time. */
  maxSkewMs: number;
  now?: () => number;
}

export function telemetryApi(opts: TelemetryApiOptions): ApiExtension {
  return async (api, deps) => {
    // Own context: the ingest routes read their body raw.
    await api.register((ingest: ApiApp, _opts, done) => {
      registerTelemetryIngestRoutes(ingest, opts);
      done();
    });
    await api.register((secured: ApiApp, _opts, done) => {
      secured.addHook('onRequest', authenticate(opts.registry, deps.secureCookies));
      registerTelemetryQueryRoutes(secured, opts);
      done();
    });
  };
}
