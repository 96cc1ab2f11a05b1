/**
 * ThingSpeak API keys: 16 characters of [0-9A-Z] (as the original server drew
 * them), about 82 bits from crypto random. Stored as SHA-256 hex (to find the
 * channel by key) and sealed with the server key (to show them to the owners);
 * the seal is bound to the channel and the kind, so it does not open elsewhere.
 */
import { randomInt } from 'node:crypto';
import { hashToken, openSecret, sealSecret } from '../registry/secrets.js';
import type { ChannelKey, ChannelKeyKind } from './model.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const CHANNEL_KEY_LENGTH = 16;

export function generateChannelKey(): string {
  let out = '';
  for (let i = 0; i < CHANNEL_KEY_LENGTH; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

export const hashChannelKey = (key: string): string => hashToken(key);

const context = (channelId: number, kind: ChannelKeyKind) => `thingspeak:${channelId}:${kind}`;

export function newChannelKey(
  secretKey: Buffer,
  channelId: number,
  kind: ChannelKeyKind,
  createdAt: number,
): { key: string; record: ChannelKey } {
  const key = generateChannelKey();
  return {
    key,
    record: {
      channelId,
      kind,
      keyHash: hashChannelKey(key),
      sealed: sealSecret(secretKey, Buffer.from(key, 'utf8'), context(channelId, kind)),
      createdAt,
    },
  };
}

/** The key in clear, or undefined if the seal does not open (another server key). */
export function openChannelKey(secretKey: Buffer, record: ChannelKey): string | undefined {
  return openSecret(secretKey, record.sealed, context(record.channelId, record.kind))?.toString('utf8');
}
