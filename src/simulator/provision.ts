import { seg } from '../cli/api-client.js';
import type { CredentialView, DevicePage, DeviceView, IssuedCredentialView } from '../cli/api-types.js';
import { HalyardError } from '../core/errors.js';
import type { PlannedDevice } from './kinds.js';

/**
 * Registers the simulated devices through the REST API, or finds them from an
 * earlier run, and gives each a fresh access token. Halyard keeps no copy of
 * a token it could show again, so a re-run issues a new one and revokes the
 * ones earlier runs left behind: each simulated device holds one valid token.
 */

/** What provisioning needs of the API client (the CLI's ApiClient fits). */
export interface DeviceApi {
  get<T>(path: string, query?: Record<string, string | number | boolean | undefined>): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  patch<T>(path: string, body: unknown): Promise<T>;
  delete(path: string): Promise<unknown>;
}

/** Marks the devices the simulator made, so it reuses only those. */
export const SIMULATED_TAG = 'simulated';

export interface ProvisionedDevice {
  device: PlannedDevice;
  token: string;
  reused: boolean;
}

/** Requests in flight at once: quick for a thousand devices, gentle on the server. */
const CONCURRENCY = 8;
const PAGE_SIZE = 1000;

export async function provisionDevices(
  api: DeviceApi,
  planned: readonly PlannedDevice[],
  opts: { tenantId?: string; prefix: string },
): Promise<ProvisionedDevice[]> {
  const existing = await findExisting(api, opts);
  for (const p of planned) {
    const found = existing.get(p.id);
    if (found && !found.tags.includes(SIMULATED_TAG)) {
      throw new HalyardError(
        'CONFLICT',
        `device ${p.id} exists and was not made by the simulator (no "${SIMULATED_TAG}" tag); ` +
          `choose another --prefix`,
      );
    }
  }
  return mapConcurrently(planned, CONCURRENCY, async (p) => {
    const found = existing.get(p.id);
    const fields = { name: p.name, type: p.kind.type, tags: [SIMULATED_TAG], labels: { kind: p.kind.id } };
    if (!found) {
      await api.post<DeviceView>('/devices', { id: p.id, tenantId: opts.tenantId, ...fields });
      return { device: p, token: await issueToken(api, p.id), reused: false };
    }
    if (found.name !== p.name || found.type !== p.kind.type || found.labels.kind !== p.kind.id) {
      await api.patch<DeviceView>(`/devices/${seg(p.id)}`, {
        ...fields,
        tags: found.tags,
        labels: { ...found.labels, kind: p.kind.id },
      });
    }
    const previous = await api.get<CredentialView[]>(`/devices/${seg(p.id)}/credentials`);
    const token = await issueToken(api, p.id);
    for (const c of previous) {
      if (c.kind === 'token' && c.revokedAt === null) {
        await api.delete(`/devices/${seg(p.id)}/credentials/${seg(c.id)}`);
      }
    }
    return { device: p, token, reused: true };
  });
}

/** Every device whose id contains the prefix, by id (the search also matches names: filtered later). */
async function findExisting(
  api: DeviceApi,
  opts: { tenantId?: string; prefix: string },
): Promise<Map<string, DeviceView>> {
  const found = new Map<string, DeviceView>();
  for (let offset = 0; ; offset += PAGE_SIZE) {
    const page = await api.get<DevicePage>('/devices', {
      tenantId: opts.tenantId,
      search: opts.prefix,
      limit: PAGE_SIZE,
      offset,
    });
    for (const d of page.items) found.set(d.id, d);
    if (page.items.length < PAGE_SIZE || offset + PAGE_SIZE >= page.total) return found;
  }
}

async function issueToken(api: DeviceApi, deviceId: string): Promise<string> {
  const issued = await api.post<IssuedCredentialView>(`/devices/${seg(deviceId)}/credentials`, {
    kind: 'token',
  });
  if (issued.secret === undefined)
    throw new Error(`the API issued a token for ${deviceId} without its secret`);
  return issued.secret;
}

/** Like Promise.all(items.map(fn)) with at most `limit` calls running; results in input order. */
async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
