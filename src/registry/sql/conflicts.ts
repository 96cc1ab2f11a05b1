/** The refusals both SQL stores raise themselves, worded alike. */
import { HalyardError } from '../../core/errors.js';
import type { CredentialKind } from '../model.js';

export function tenantInUse(id: string, devices: number, users: number): HalyardError {
  return new HalyardError('CONFLICT', `tenant "${id}" still has ${devices} device(s) and ${users} user(s)`, {
    tenantId: id,
    devices,
    users,
  });
}

export function profileInUse(id: string, devices: number): HalyardError {
  return new HalyardError('CONFLICT', `profile "${id}" is still used by ${devices} device(s)`, {
    profileId: id,
    devices,
  });
}

/** A password username or hmac device id names one device, though rotation gives it several credentials. */
export function lookupTaken(kind: CredentialKind): HalyardError {
  return new HalyardError('CONFLICT', `another device has an unrevoked ${kind} credential with this lookup`, {
    field: 'lookup',
  });
}
