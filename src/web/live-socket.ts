/**
 * The live feed's sockets: authenticates the upgrade (live-auth.ts), greets,
 * reads watch requests, and feeds LiveFeed from the platform's events. The
 * feed listens to the telemetry ingest, presence and the registry only while
 * at least one socket is open, so nobody pays for it otherwise.
 *
 * A slow reader cannot grow memory: telemetry for a socket with more than
 * `maxBufferedBytes` unsent is dropped (and counted); if even the rare other
 * messages pile up past four times that, the socket is cut.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { counter, gauge, type MetricSample } from '../api/metrics.js';
import type { Logger } from '../core/logger.js';
import type { PresenceChange } from '../devices/presence.js';
import type { AuditEntry, User } from '../registry/model.js';
import type { Actor, RegistryService } from '../registry/service.js';
import type { DataPoint } from '../telemetry/model.js';
import { refuseUpgrade } from '../transport/websocket.js';
import { authenticateLive, type LiveCaller } from './live-auth.js';
import { LiveFeed, type LiveStatsSource, type LiveViewer } from './live-feed.js';
import { parseClientFrame, type LiveMessage } from './live-protocol.js';

/** The event sources, as narrow as the feed needs them. */
interface Emits<Events extends Record<string, unknown[]>> {
  on<E extends keyof Events & string>(event: E, listener: (...args: Events[E]) => void): unknown;
  off<E extends keyof Events & string>(event: E, listener: (...args: Events[E]) => void): unknown;
}

export interface LiveSocketsOptions {
  registry: RegistryService;
  ingest: Emits<{ accepted: [points: readonly DataPoint[]] }>;
  presence: Emits<{ change: [change: PresenceChange] }> & { onlineCount(tenantId?: string): number };
  broker: { stats: { publishReceived: number }; connectedCount(): number };
  /** MQTT connections per tenant. */
  ledger: { tenantConnections(tenantId: string): number };
  logger: Logger;
  /** Unsent bytes beyond which a socket's telemetry is dropped; default 1 MiB. */
  maxBufferedBytes?: number;
  /** Default 1000 ms. */
  statsIntervalMs?: number;
  /** Ping, and check that each socket's session still holds; default 30 s. */
  checkIntervalMs?: number;
  now?: () => number;
}

/** Close code for a session that ended (signed out, expired, user deactivated): sign in again. */
export const SESSION_ENDED = 4401;
/** A watch list of 1000 long device ids fits. */
const MAX_CLIENT_FRAME_BYTES = 512 * 1024;

export class LiveSockets {
  private readonly feed: LiveFeed;
  private readonly wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    maxPayload: MAX_CLIENT_FRAME_BYTES,
  });
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly maxBuffered: number;
  private readonly connections = new Set<LiveConnection>();
  private timers: NodeJS.Timeout[] = [];
  private dropped = 0;
  private closed = false;

  constructor(private readonly opts: LiveSocketsOptions) {
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    this.maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
    const { broker, ledger, presence } = opts;
    const stats: LiveStatsSource = {
      publishesReceived: () => broker.stats.publishReceived,
      connections: (tenantId) =>
        tenantId === undefined ? broker.connectedCount() : ledger.tenantConnections(tenantId),
      devicesOnline: (tenantId) => presence.onlineCount(tenantId),
    };
    this.feed = new LiveFeed(stats);
  }

  /** The upgrade handler for /api/live. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    authenticateLive(req, this.opts.registry).then(
      (auth) => {
        if (!auth.ok) {
          const text = JSON.stringify({ error: auth.error, message: auth.message });
          refuseUpgrade(socket, auth.status, { type: 'application/json', text });
        } else if (this.closed) {
          refuseUpgrade(socket, '503 Service Unavailable');
        } else if (!socket.destroyed) {
          this.wss.handleUpgrade(req, socket, head, (ws) => this.open(ws, auth.caller));
        }
      },
      (err: unknown) => {
        this.log.error({ err }, 'live feed authentication failed');
        refuseUpgrade(socket, '500 Internal Server Error');
      },
    );
  };

  samples(): MetricSample[] {
    return [
      gauge('halyard_live_sockets', 'Dashboard live-feed WebSockets open.', this.connections.size),
      counter(
        'halyard_live_telemetry_dropped_total',
        'Telemetry messages not sent to a live-feed socket that was too far behind (slow consumer).',
        this.dropped,
      ),
    ];
  }

  /** Says goodbye (1001) to every socket and stops listening to the platform. */
  close(): void {
    this.closed = true;
    for (const connection of this.connections) connection.ws.close(1001, 'server shutting down');
    this.stopListening();
  }

  private open(ws: WebSocket, caller: LiveCaller): void {
    const connection = new LiveConnection(ws, caller, this.maxBuffered, () => this.dropped++);
    connection.send({
      type: 'hello',
      user: caller.user,
      tenantId: caller.actor.tenantId,
      role: caller.actor.role,
    });
    ws.on('message', (data, isBinary) => connection.receive(data, isBinary));
    ws.on('pong', () => (connection.alive = true));
    ws.on('error', (err) => this.log.debug({ err }, 'live socket error'));
    ws.on('close', () => {
      this.connections.delete(connection);
      this.feed.remove(connection);
      if (this.connections.size === 0) this.stopListening();
    });
    if (this.connections.size === 0) this.startListening();
    this.connections.add(connection);
    this.feed.add(connection);
  }

  // Listeners of other rooms' emitters: one that threw would break their caller (presence runs inside the broker).
  private readonly onTelemetry = this.guarded((points: readonly DataPoint[]) => this.feed.telemetry(points));
  private readonly onPresence = this.guarded((change: PresenceChange) => this.feed.presence(change));
  private readonly onAudit = this.guarded((entry: AuditEntry) => this.feed.audit(entry));
  private readonly onUserChanged = this.guarded((user: User) => this.recheck((c) => c.actor.id === user.id));

  private startListening(): void {
    const { ingest, presence, registry } = this.opts;
    ingest.on('accepted', this.onTelemetry);
    presence.on('change', this.onPresence);
    registry.on('audit.appended', this.onAudit);
    registry.on('user.changed', this.onUserChanged);
    registry.on('user.deleted', this.onUserChanged);
    this.feed.resetRates(this.now());
    const tick = setInterval(() => this.feed.tick(this.now()), this.opts.statsIntervalMs ?? 1000);
    const check = setInterval(() => this.checkAll(), this.opts.checkIntervalMs ?? 30_000);
    this.timers = [tick, check];
    for (const timer of this.timers) timer.unref();
  }

  private stopListening(): void {
    const { ingest, presence, registry } = this.opts;
    ingest.off('accepted', this.onTelemetry);
    presence.off('change', this.onPresence);
    registry.off('audit.appended', this.onAudit);
    registry.off('user.changed', this.onUserChanged);
    registry.off('user.deleted', this.onUserChanged);
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  /** A socket that did not answer the last ping is dead; the others are pinged and their sessions checked. */
  private checkAll(): void {
    for (const connection of this.connections) {
      if (!connection.alive) {
        connection.ws.terminate();
        continue;
      }
      connection.alive = false;
      connection.ws.ping();
    }
    this.recheck(() => true);
  }

  /** Closes the sockets whose session no longer holds; the others take their user's current role. */
  private recheck(which: (connection: LiveConnection) => boolean): void {
    for (const connection of this.connections) {
      if (!which(connection)) continue;
      this.opts.registry.resolveBearer(connection.token, connection.address).then(
        (actor) => {
          if (actor) connection.actor = { ...actor, address: connection.address };
          else connection.ws.close(SESSION_ENDED, 'session ended');
        },
        (err: unknown) => this.log.warn({ err }, 'live feed session check failed'),
      );
    }
  }

  private guarded<A extends unknown[]>(listener: (...args: A) => void): (...args: A) => void {
    return (...args) => {
      try {
        listener(...args);
      } catch (err) {
        this.log.error({ err }, 'live feed failed to fan out an event');
      }
    };
  }
}

/** One open socket: its caller, what it watches, and sending with the slow-reader bound. */
class LiveConnection implements LiveViewer {
  actor: Actor;
  watch: ReadonlySet<string> | undefined;
  alive = true;
  readonly token: string;
  readonly address: string;

  constructor(
    readonly ws: WebSocket,
    caller: LiveCaller,
    private readonly maxBuffered: number,
    private readonly countDrop: () => void,
  ) {
    this.actor = caller.actor;
    this.token = caller.token;
    this.address = caller.address;
  }

  get principal(): Actor {
    return this.actor;
  }

  deliver(frame: string, droppable: boolean): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const buffered = this.ws.bufferedAmount;
    if (droppable && buffered > this.maxBuffered) {
      this.countDrop();
      return;
    }
    if (buffered > 4 * this.maxBuffered) {
      this.ws.terminate();
      return;
    }
    this.ws.send(frame);
  }

  send(message: LiveMessage): void {
    this.deliver(JSON.stringify(message), false);
  }

  receive(data: RawData, isBinary: boolean): void {
    const parsed = isBinary
      ? ({ ok: false, message: 'frames must be text (JSON)' } as const)
      : parseClientFrame(rawText(data));
    if (parsed.ok) this.watch = parsed.request.deviceIds;
    else this.send({ type: 'error', message: parsed.message });
  }
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString();
  return (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString();
}
