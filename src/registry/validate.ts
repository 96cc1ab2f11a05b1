/**
 * Input checks of the registry. Each failure is HalyardError('INVALID_INPUT')
 * naming the field, so the API can point at it without parsing messages.
 */
import { topicFilterProblem } from '../broker/topics.js';
import { HalyardError } from '../core/errors.js';
import type { AclRule } from '../devices/acl.js';
import { ID_PATTERN, type DeviceLimits, type Role } from './model.js';

export const LIMITS = {
  aclRules: 10_000,
  tags: 64,
  tagLength: 64,
  labels: 64,
  labelKeyLength: 64,
  labelValueLength: 256,
  nameLength: 200,
  descriptionLength: 2000,
  passwordMin: 8,
  passwordMax: 1024,
  mqttUsernameLength: 256,
  certificateDaysMax: 3650,
  apiTokenDaysMax: 3650,
  retentionDaysMax: 36500,
  retentionKeys: 100,
  retentionKeyLength: 128,
} as const;

/** People's usernames: ids plus '@', so an e-mail address works. */
const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

export function invalid(field: string, message: string): HalyardError {
  return new HalyardError('INVALID_INPUT', `${field}: ${message}`, { field });
}

export function checkId(field: string, value: unknown): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
    throw invalid(field, 'must be 1-64 letters, digits, "_", "." or "-", starting with a letter or digit');
  }
  return value;
}

export function checkText(field: string, value: unknown, max: number, opts: { min?: number } = {}): string {
  const min = opts.min ?? 0;
  if (typeof value !== 'string') throw invalid(field, 'must be a string');
  if (value.length < min || value.length > max) {
    throw invalid(field, min > 0 ? `must be ${min}-${max} characters` : `must be at most ${max} characters`);
  }
  if (CONTROL_CHARS.test(value)) throw invalid(field, 'must not contain control characters');
  return value;
}

export function checkName(field: string, value: unknown): string {
  const name = checkText(field, value, LIMITS.nameLength, { min: 1 });
  if (name.trim().length === 0) throw invalid(field, 'must not be blank');
  return name;
}

export function checkInt(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

export function checkRole(field: string, value: unknown): Role {
  if (value !== 'admin' && value !== 'operator' && value !== 'viewer') {
    throw invalid(field, 'must be admin, operator or viewer');
  }
  return value;
}

export function checkUsername(field: string, value: unknown): string {
  if (typeof value !== 'string' || !USERNAME_PATTERN.test(value)) {
    throw invalid(
      field,
      'must be 1-128 letters, digits, "_", ".", "@", "+" or "-", starting with a letter or digit',
    );
  }
  return value;
}

/** An MQTT username of a device credential: any printable UTF-8 (MQTT allows it), bounded. */
export function checkMqttUsername(field: string, value: unknown): string {
  return checkText(field, value, LIMITS.mqttUsernameLength, { min: 1 });
}

export function checkPassword(field: string, value: unknown): string {
  if (typeof value !== 'string') throw invalid(field, 'must be a string');
  if (value.length < LIMITS.passwordMin)
    throw invalid(field, `must be at least ${LIMITS.passwordMin} characters`);
  if (value.length > LIMITS.passwordMax)
    throw invalid(field, `must be at most ${LIMITS.passwordMax} characters`);
  return value;
}

export function checkTags(field: string, value: unknown): string[] {
  if (!Array.isArray(value)) throw invalid(field, 'must be an array of strings');
  if (value.length > LIMITS.tags) throw invalid(field, `must have at most ${LIMITS.tags} entries`);
  const tags = value.map((tag, i) => checkText(`${field}[${i}]`, tag, LIMITS.tagLength, { min: 1 }));
  return [...new Set(tags)];
}

export function checkLabels(field: string, value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(field, 'must be an object of string values');
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > LIMITS.labels) throw invalid(field, `must have at most ${LIMITS.labels} entries`);
  const labels: Record<string, string> = {};
  for (const [key, v] of entries) {
    checkText(`${field} key`, key, LIMITS.labelKeyLength, { min: 1 });
    labels[key] = checkText(`${field}.${key}`, v, LIMITS.labelValueLength);
  }
  return labels;
}

/** Per-key telemetry retention: { key: days }, days 0 (keep forever) to LIMITS.retentionDaysMax. */
export function checkKeyRetention(field: string, value: unknown): Record<string, number> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(field, 'must be an object of key → days');
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > LIMITS.retentionKeys) {
    throw invalid(field, `must have at most ${LIMITS.retentionKeys} keys`);
  }
  const out: Record<string, number> = {};
  for (const [key, days] of entries) {
    checkText(`${field} key`, key, LIMITS.retentionKeyLength, { min: 1 });
    out[key] = checkInt(`${field}.${key}`, days, 0, LIMITS.retentionDaysMax);
  }
  return out;
}

export function checkAcl(field: string, value: unknown): AclRule[] {
  if (!Array.isArray(value)) throw invalid(field, 'must be an array of rules');
  if (value.length > LIMITS.aclRules) throw invalid(field, `must have at most ${LIMITS.aclRules} rules`);
  return value.map((rule: unknown, i) => {
    const at = `${field}[${i}]`;
    if (typeof rule !== 'object' || rule === null) throw invalid(at, 'must be an object');
    const { action, topic, permission } = rule as Record<string, unknown>;
    if (action !== 'publish' && action !== 'subscribe' && action !== 'all') {
      throw invalid(`${at}.action`, 'must be publish, subscribe or all');
    }
    if (typeof topic !== 'string') throw invalid(`${at}.topic`, 'must be a string');
    const problem = topicFilterProblem(topic);
    if (problem) throw invalid(`${at}.topic`, `is not a valid topic filter (${problem})`);
    if (permission !== undefined && permission !== 'allow' && permission !== 'deny') {
      throw invalid(`${at}.permission`, 'must be allow or deny');
    }
    // A fresh object: no stray properties of the input reach the store.
    return { action, topic, permission: permission ?? 'allow' };
  });
}

export function checkLimits(field: string, value: unknown, base: DeviceLimits): DeviceLimits {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(field, 'must be an object');
  const input = value as Record<string, unknown>;
  const out = { ...base };
  for (const key of Object.keys(input)) {
    if (!(key in base)) throw invalid(`${field}.${key}`, 'is not a known limit');
    out[key as keyof DeviceLimits] = checkInt(`${field}.${key}`, input[key], 0, 1_000_000_000);
  }
  return out;
}
