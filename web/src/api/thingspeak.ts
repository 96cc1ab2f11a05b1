/**
 * The ThingSpeak-compatible channel API (docs/thingspeak.md). Its management
 * routes take a user API key, not the session cookie: the dashboard uses the
 * session token from sign-in while the tab keeps it, and otherwise asks for a
 * short-lived API token once per tab (kept in memory only).
 */
import { api } from './http.js';

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

let userKey: string | undefined;

export function rememberUserKey(token: string): void {
  userKey = token;
}

export function forgetUserKey(): void {
  userKey = undefined;
}

async function key(): Promise<string> {
  if (userKey === undefined) {
    const minted = await api.post<{ token: string }>('/api/tokens', {
      name: 'dashboard (channels)',
      expiresInDays: 1,
    });
    userKey = minted.token;
  }
  return userKey;
}

async function tsRequest<T>(
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  form?: Record<string, string>,
  channelKey?: string,
): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: {
      'x-thingspeakapikey': channelKey ?? (await key()),
      ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    body: form ? new URLSearchParams(form).toString() : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(channelError(res.status, text));
  return JSON.parse(text) as T;
}

function channelError(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string; details?: string } };
    if (parsed.error?.details) return parsed.error.details;
    if (parsed.error?.message) return parsed.error.message;
  } catch {
    // ThingSpeak answers some errors as bare text (-1, error_auth_required).
  }
  return status === 400 && body.trim() === '-1'
    ? 'no such channel, or no access'
    : `channel request failed (${status})`;
}

export const channels = {
  list: () => tsRequest<Channel[]>('GET', '/channels.json'),
  get: (id: number) => tsRequest<Channel>('GET', `/channels/${id}.json`),
  create: (settings: Record<string, string>) => tsRequest<Channel>('POST', '/channels.json', settings),
  remove: (id: number) => tsRequest<Channel>('DELETE', `/channels/${id}.json`),
  /** Reads take a key of the channel itself (a read key, or the write key), not a user's. */
  feeds: (channel: Channel, results: number) =>
    tsRequest<Feed>(
      'GET',
      `/channels/${channel.id}/feeds.json?results=${results}`,
      undefined,
      readKeyOf(channel),
    ),
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
