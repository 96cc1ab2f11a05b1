/**
 * The dashboard's live feed at /api/live, as types: what the server sends (one
 * JSON object per text frame) and the one request a client may send. The
 * dashboard is written against this contract; docs/api.md describes it.
 */
import type { z } from 'zod';
import type { AuditEntryDto, UserDto } from '../api/dto.js';
import type { Role } from '../registry/model.js';
import type { TelemetryValue } from '../telemetry/model.js';

export const LIVE_PATH = '/api/live';

export type LiveMessage =
  | { type: 'hello'; user: z.infer<typeof UserDto>; tenantId: string | null; role: Role }
  | {
      type: 'telemetry';
      tenantId: string;
      deviceId: string;
      ts: number;
      values: Record<string, TelemetryValue>;
    }
  | { type: 'presence'; tenantId: string; deviceId: string; online: boolean; at: number; cause?: string }
  | {
      type: 'stats';
      at: number;
      messagesPerSecond: number;
      pointsPerSecond: number;
      devicesOnline: number;
      connections: number;
    }
  | { type: 'audit'; entry: z.infer<typeof AuditEntryDto> }
  | { type: 'error'; message: string };

/** Narrows telemetry to these devices; undefined = every device in scope. */
export interface WatchRequest {
  type: 'watch';
  deviceIds: ReadonlySet<string> | undefined;
}

/** More would make the watch list a way to hold memory; a dashboard page shows a handful. */
export const MAX_WATCHED_DEVICES = 1000;
const MAX_DEVICE_ID_LENGTH = 256;

export type ParsedClientFrame = { ok: true; request: WatchRequest } | { ok: false; message: string };

function refused(message: string): ParsedClientFrame {
  return { ok: false, message };
}

/** Reads one client frame; anything but a well-formed watch request gets the reason it was refused. */
export function parseClientFrame(text: string): ParsedClientFrame {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return refused('a frame must be one JSON object');
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
    return refused('a frame must be one JSON object');
  }
  const { type, deviceIds } = frame as Record<string, unknown>;
  if (type !== 'watch') return refused(`unknown type ${JSON.stringify(type)}; the only request is "watch"`);
  if (deviceIds === undefined) return { ok: true, request: { type, deviceIds: undefined } };
  if (!Array.isArray(deviceIds)) return refused('deviceIds must be an array of device ids');
  if (deviceIds.length > MAX_WATCHED_DEVICES) {
    return refused(`deviceIds: at most ${MAX_WATCHED_DEVICES} devices`);
  }
  const bad = deviceIds.findIndex(
    (id) => typeof id !== 'string' || id === '' || id.length > MAX_DEVICE_ID_LENGTH,
  );
  if (bad !== -1) return refused(`deviceIds[${bad}] must be a device id (a non-empty string)`);
  const ids = deviceIds as string[];
  return { ok: true, request: { type, deviceIds: ids.length === 0 ? undefined : new Set(ids) } };
}
