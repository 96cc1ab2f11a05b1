/**
 * The live feed's fan-out, without sockets: which viewer may see which event
 * (the registry's own permission rules: a tenant user sees their tenant, a
 * platform admin every tenant), telemetry narrowed to the devices a viewer
 * watches, and the once-a-second stats with their rates. Each event is
 * serialised once and the same text goes to every viewer that gets it.
 */
import { auditEntryDto } from '../api/dto.js';
import type { PresenceChange } from '../devices/presence.js';
import type { AuditEntry } from '../registry/model.js';
import { decide, isPlatformAdmin, type Principal } from '../registry/permissions.js';
import type { DataPoint, TelemetryValue } from '../telemetry/model.js';
import type { LiveMessage } from './live-protocol.js';

/** One open live socket, as the feed sees it. */
export interface LiveViewer {
  readonly principal: Principal;
  /** Devices whose telemetry the viewer wants; undefined = every device in scope. */
  readonly watch: ReadonlySet<string> | undefined;
  /** Sends one frame. Telemetry is `droppable`: a viewer that is too far behind may skip it. */
  deliver(frame: string, droppable: boolean): void;
}

/** Gauges read once per stats tick; without a tenant, platform-wide. */
export interface LiveStatsSource {
  /** MQTT PUBLISH packets received since start (a counter). */
  publishesReceived(): number;
  connections(tenantId?: string): number;
  devicesOnline(tenantId?: string): number;
}

interface Counts {
  messages: number;
  points: number;
}

type StatsMessage = Extract<LiveMessage, { type: 'stats' }>;

export class LiveFeed {
  private readonly viewers = new Set<LiveViewer>();
  /** Telemetry accepted since the last tick, per tenant. */
  private counts = new Map<string, Counts>();
  private lastTick = { at: 0, publishes: 0 };

  constructor(private readonly stats: LiveStatsSource) {}

  get size(): number {
    return this.viewers.size;
  }

  add(viewer: LiveViewer): void {
    this.viewers.add(viewer);
  }

  remove(viewer: LiveViewer): void {
    this.viewers.delete(viewer);
  }

  /** Starts the rates afresh (when the feed starts listening): nothing before `now` is counted. */
  resetRates(now: number): void {
    this.counts = new Map();
    this.lastTick = { at: now, publishes: this.stats.publishesReceived() };
  }

  /** One accepted write: a message per device and timestamp. */
  telemetry(points: readonly DataPoint[]): void {
    const groups = groupPoints(points);
    for (const [tenantId, count] of countPerTenant(points, groups)) {
      const counts = this.counts.get(tenantId);
      if (counts) {
        counts.messages++;
        counts.points += count;
      } else this.counts.set(tenantId, { messages: 1, points: count });
    }
    for (const group of groups) {
      this.fanOut(
        (viewer) =>
          decide(viewer.principal, 'device.read', group.tenantId) === 'allowed' &&
          (viewer.watch === undefined || viewer.watch.has(group.deviceId)),
        () => ({ type: 'telemetry', ...group }),
        true,
      );
    }
  }

  presence(change: PresenceChange): void {
    this.fanOut(
      (viewer) => decide(viewer.principal, 'device.read', change.tenantId) === 'allowed',
      () => ({
        type: 'presence',
        tenantId: change.tenantId,
        deviceId: change.deviceId,
        online: change.status === 'online',
        at: change.at,
        cause: change.cause,
      }),
      false,
    );
  }

  audit(entry: AuditEntry): void {
    this.fanOut(
      (viewer) => decide(viewer.principal, 'audit.read', entry.tenantId) === 'allowed',
      () => ({ type: 'audit', entry: auditEntryDto(entry) }),
      false,
    );
  }

  /**
   * Sends every viewer its stats: platform admins the broker-wide figures, a
   * tenant's users their tenant's (its telemetry messages, points, devices and
   * connections).
   */
  tick(now: number): void {
    const seconds = (now - this.lastTick.at) / 1000;
    if (seconds <= 0) return;
    const publishes = this.stats.publishesReceived();
    const rate = (count: number) => Math.round((count / seconds) * 10) / 10;
    let points = 0;
    for (const counts of this.counts.values()) points += counts.points;
    const platform: StatsMessage = {
      type: 'stats',
      at: now,
      messagesPerSecond: rate(publishes - this.lastTick.publishes),
      pointsPerSecond: rate(points),
      devicesOnline: this.stats.devicesOnline(),
      connections: this.stats.connections(),
    };
    const frames = new Map<string | null, string>();
    const frameFor = (principal: Principal): string => {
      const key = isPlatformAdmin(principal) ? null : principal.tenantId;
      let frame = frames.get(key);
      if (frame === undefined) {
        frame = JSON.stringify(key === null ? platform : this.tenantStats(key, now, rate));
        frames.set(key, frame);
      }
      return frame;
    };
    for (const viewer of this.viewers) viewer.deliver(frameFor(viewer.principal), false);
    this.counts = new Map();
    this.lastTick = { at: now, publishes };
  }

  private tenantStats(tenantId: string, now: number, rate: (count: number) => number): StatsMessage {
    const counts = this.counts.get(tenantId);
    return {
      type: 'stats',
      at: now,
      messagesPerSecond: rate(counts?.messages ?? 0),
      pointsPerSecond: rate(counts?.points ?? 0),
      devicesOnline: this.stats.devicesOnline(tenantId),
      connections: this.stats.connections(tenantId),
    };
  }

  /** The message is built and serialised only if some viewer gets it, and then only once. */
  private fanOut(
    wants: (viewer: LiveViewer) => boolean,
    message: () => LiveMessage,
    droppable: boolean,
  ): void {
    let frame: string | undefined;
    for (const viewer of this.viewers) {
      if (!wants(viewer)) continue;
      frame ??= JSON.stringify(message());
      viewer.deliver(frame, droppable);
    }
  }
}

type Values = Record<string, TelemetryValue>;

interface PointGroup {
  tenantId: string;
  deviceId: string;
  ts: number;
  values: Values;
}

/** Points of one series and one timestamp make one message (a device's reading of several keys). */
export function groupPoints(points: readonly DataPoint[]): PointGroup[] {
  const groups = new Map<string, PointGroup>();
  let last: PointGroup | undefined;
  for (const p of points) {
    // Points of one write nearly always share series and time: skip the map for the run.
    if (!last || last.tenantId !== p.tenantId || last.deviceId !== p.seriesId || last.ts !== p.ts) {
      const key = `${p.tenantId}\0${p.seriesId}\0${p.ts}`;
      last = groups.get(key);
      if (!last) {
        // No prototype: a key named "__proto__" is a value like any other.
        last = {
          tenantId: p.tenantId,
          deviceId: p.seriesId,
          ts: p.ts,
          values: Object.create(null) as Values,
        };
        groups.set(key, last);
      }
    }
    last.values[p.key] = p.value;
  }
  return [...groups.values()];
}

/** Points per tenant of one write; nearly always one tenant. */
function countPerTenant(points: readonly DataPoint[], groups: PointGroup[]): Map<string, number> {
  const perTenant = new Map<string, number>();
  if (groups.length === 1) return perTenant.set(groups[0].tenantId, points.length);
  for (const p of points) perTenant.set(p.tenantId, (perTenant.get(p.tenantId) ?? 0) + 1);
  return perTenant;
}
