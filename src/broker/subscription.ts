import type { QoS } from './message.js';

/** Subscription options as granted (MQTT 5 names; 3.1.1 clients get the defaults). */
export interface SubscriptionOptions {
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  /** 0 = send retained on subscribe, 1 = only if the subscription is new, 2 = never. */
  retainHandling: 0 | 1 | 2;
  subscriptionIdentifier?: number;
}

export interface Subscription extends SubscriptionOptions {
  /** Internal topic filter (mount point applied), without any $share prefix. */
  filter: string;
  /** Shared-subscription group name, when subscribed as $share/<group>/<filter>. */
  shareGroup?: string;
}

/** The key a session uses to hold one subscription: shared and plain subscriptions to one filter differ. */
export function subscriptionKey(sub: { filter: string; shareGroup?: string }): string {
  return sub.shareGroup === undefined ? sub.filter : `$share/${sub.shareGroup}/${sub.filter}`;
}
