import type { Identity } from '../broker/auth.js';
import type { Role } from '../registry/model.js';
import type { SignedInWith } from '../registry/service.js';
import type { TopicAcl } from './acl.js';
import type { PublishQuota } from './connection-ledger.js';
import { deviceSessionScope, tenantMountPoint, userSessionScope } from './namespaces.js';

/**
 * The identities the registry authenticator hands the broker. They are
 * immutable; what can change (revocation, deactivation, ACL edits) closes the
 * connection instead, and the client comes back with a fresh identity.
 */

export class DeviceIdentity implements Identity {
  readonly anonymous = false;
  readonly mountPoint: string;
  readonly sessionScope: string;

  constructor(
    readonly deviceId: string,
    readonly tenantId: string,
    readonly profileId: string | null,
    readonly credentialId: string,
    private readonly acl: TopicAcl,
    readonly quota: PublishQuota | undefined,
  ) {
    this.mountPoint = tenantMountPoint(tenantId);
    this.sessionScope = deviceSessionScope(deviceId);
  }

  get name(): string {
    return `device:${this.deviceId}`;
  }

  canPublish(topic: string): boolean {
    return this.acl.canPublish(topic);
  }

  canSubscribe(filter: string): boolean {
    return this.acl.canSubscribe(filter);
  }

  admitPublish(bytes: number, now: number): number {
    return this.quota ? this.quota.admit(bytes, now) : 0;
  }
}

/** A person connected over MQTT (e.g. the dashboard's console): rights follow the role, through the ACL. */
export class UserIdentity implements Identity {
  readonly anonymous = false;
  readonly mountPoint: string;
  readonly sessionScope: string;

  constructor(
    readonly userId: string,
    readonly username: string,
    readonly tenantId: string | null,
    readonly role: Role,
    private readonly acl: TopicAcl,
    /** The session or API token the person connected with instead of a password: its end closes the connection. */
    readonly signedInWith?: SignedInWith,
  ) {
    this.mountPoint = tenantId === null ? '' : tenantMountPoint(tenantId);
    this.sessionScope = userSessionScope(userId);
  }

  get name(): string {
    return `user:${this.username}`;
  }

  canPublish(topic: string): boolean {
    return this.acl.canPublish(topic);
  }

  canSubscribe(filter: string): boolean {
    return this.acl.canSubscribe(filter);
  }
}
