/**
 * Telemetry retention: a background job that deletes, tenant by tenant, the
 * raw points (and the rollup buckets) older than the tenant's retention.
 *
 * A tenant's `keyRetentionDays` overrides its `retentionDays` key by key, in
 * both directions: each overridden key is cut at its own age (0 = kept forever),
 * and the tenant-wide pass spares those keys (`exceptKeys`), so a key kept
 * longer than the tenant's default survives it. Latest values are never deleted.
 */
import type { Logger } from '../core/logger.js';
import type { Tenant } from '../registry/model.js';
import { SYSTEM_ACTOR, type Actor } from '../registry/service.js';
import type { TelemetryStore } from './store.js';

export const DAY_MS = 86_400_000;

export interface RetentionJobOptions {
  /** Where the tenants come from: the Registry, asked as the system. */
  registry: { listTenants(actor: Actor): Promise<Tenant[]> };
  store: TelemetryStore;
  logger: Logger;
  /** Between the end of one pass and the start of the next; default 1 hour. */
  intervalMs?: number;
  now?: () => number;
}

export interface RetentionPass {
  /** Tenants with a retention set (tenant-wide or for a key) that the pass went through. */
  tenants: number;
  pointsDeleted: number;
}

export class RetentionJob {
  private readonly registry: RetentionJobOptions['registry'];
  private readonly store: TelemetryStore;
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RetentionPass> | undefined;
  private started = false;

  constructor(options: RetentionJobOptions) {
    this.registry = options.registry;
    this.store = options.store;
    this.logger = options.logger;
    this.intervalMs = options.intervalMs ?? 3_600_000;
    this.now = options.now ?? Date.now;
  }

  /** One pass over every tenant. A call while a pass is under way joins that pass. */
  runOnce(): Promise<RetentionPass> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** The first pass runs at once (a restart must not postpone retention), then every intervalMs. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule(0);
  }

  /** No further passes; waits for one under way to finish. */
  async stop(): Promise<void> {
    this.started = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runOnce()
        .catch((err: unknown) => this.logger.error({ err }, 'telemetry retention pass failed'))
        .finally(() => {
          if (this.started) this.schedule(this.intervalMs);
        });
    }, delayMs);
    // A pending pass must not keep the process alive.
    this.timer.unref();
  }

  private async pass(): Promise<RetentionPass> {
    const started = this.now();
    const tenants = await this.registry.listTenants(SYSTEM_ACTOR);
    let pointsDeleted = 0;
    let processed = 0;
    let failed = 0;
    for (const tenant of tenants) {
      const overrides = Object.entries(tenant.keyRetentionDays);
      if (tenant.retentionDays === 0 && overrides.every(([, days]) => days === 0)) continue;
      processed++;
      try {
        pointsDeleted += await this.applyTenant(tenant, started);
      } catch (err) {
        // One tenant's failure must not keep the others' data forever; the next pass retries.
        failed++;
        this.logger.warn({ err, tenantId: tenant.id }, 'telemetry retention failed for a tenant');
      }
    }
    this.logger.info(
      { tenants: processed, failed, pointsDeleted, ms: this.now() - started },
      'telemetry retention pass done',
    );
    return { tenants: processed, pointsDeleted };
  }

  private async applyTenant(tenant: Tenant, now: number): Promise<number> {
    let deleted = 0;
    const overridden = Object.keys(tenant.keyRetentionDays);
    for (const [key, days] of Object.entries(tenant.keyRetentionDays)) {
      if (days > 0)
        deleted += await this.store.deleteBefore({ tenantId: tenant.id, key }, now - days * DAY_MS);
    }
    if (tenant.retentionDays > 0) {
      deleted += await this.store.deleteBefore(
        { tenantId: tenant.id, ...(overridden.length > 0 ? { exceptKeys: overridden } : {}) },
        now - tenant.retentionDays * DAY_MS,
      );
    }
    return deleted;
  }
}
