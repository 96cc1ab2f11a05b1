/**
 * The ThingSpeak-compatible channel API (docs/thingspeak.md). Its management
 * routes take the session cookie like the REST API (and the same CSRF header on
 * writes); reading a channel's feed takes a key of that channel.
 */
import { api, ApiError } from './http.js';

export interface Channel {
  id: number;
  name: string;
  description?: string | null;
  created_at: string;
  last_entry_id: number | null;
  public_flag: boolean;
  api_keys: Array<{ api_key: string; write_flag: boolean }>;
  [field: `field${number}`]: string | undefined;
}

export interface Feed {
  channel: Channel;
  feeds: Array<{
    created_at: string;
    entry_id?: number;
    [field: `field${number}`]: string | null | undefined;
  }>;
}

export const FIELD_NUMBERS = [1, 2, 3, 4, 5, 6, 7, 8] as const;

/** ThingSpeak answers a read it refuses (no such channel, or a wrong key) with a bare `-1`. */
async function feedOf(path: string, channelKey: string | undefined): Promise<Feed> {
  try {
    return await api.get<Feed>(path, { headers: channelKey ? { 'x-thingspeakapikey': channelKey } : {} });
  } catch (err) {
    if (err instanceof ApiError && err.message === '-1') {
      throw new ApiError(err.status, err.code, 'no such channel, or no access');
    }
    throw err;
  }
}

export const channels = {
  list: () => api.get<Channel[]>('/channels.json'),
  get: (id: number) => api.get<Channel>(`/channels/${id}.json`),
  create: (settings: Record<string, string>) => api.post<Channel>('/channels.json', settings),
  remove: (id: number) => api.del<Channel>(`/channels/${id}.json`),
  /** Reads take a key of the channel itself (a read key, or the write key), not the session. */
  feeds: (channel: Channel, results: number) =>
    feedOf(`/channels/${channel.id}/feeds.json?results=${results}`, readKeyOf(channel)),
};

export function fieldsOf(channel: Channel): Array<{ key: `field${number}`; name: string }> {
  return FIELD_NUMBERS.flatMap((n) => {
    const name = channel[`field${n}`];
    return name === undefined ? [] : [{ key: `field${n}` as const, name }];
  });
}

export function readKeyOf(channel: Channel): string | undefined {
  return (channel.api_keys.find((k) => !k.write_flag) ?? channel.api_keys[0])?.api_key;
}
