import type { Session } from './session.js';
import type { Subscription } from './subscription.js';
import { TopicTrie } from './topic-trie.js';

interface PlainEntry {
  shared: false;
  session: Session;
  sub: Subscription;
}

/** One `$share/<group>/<filter>`: its members take turns (round robin). */
interface SharedEntry {
  shared: true;
  members: Map<string, { session: Session; sub: Subscription }>;
  next: number;
}

type Entry = PlainEntry | SharedEntry;

/** Where a message goes: one aggregated delivery per session (MQTT 5 §3.3.4 overlapping subscriptions). */
export interface Target {
  session: Session;
  qos: 0 | 1 | 2;
  retainAsPublished: boolean;
  subscriptionIdentifiers: number[] | undefined;
}

const sharedKey = (group: string): string => `\u0000share/${group}`;

/** Routes remembered per (QoS, topic): devices publish to the same topics over and over. */
const ROUTE_CACHE_SIZE = 10_000;

export class SubscriptionIndex {
  private readonly trie = new TopicTrie<Entry>();
  private count = 0;
  /**
   * Only routes that depend on nothing but the topic are cached: no shared group
   * (its turn moves on) and no No Local subscription (it depends on the publisher).
   * Any subscription change empties the cache.
   */
  private readonly routes = new Map<string, Target[]>();

  get size(): number {
    return this.count;
  }

  add(session: Session, sub: Subscription): void {
    this.routes.clear();
    if (sub.shareGroup === undefined) {
      if (this.trie.set(sub.filter, session.clientId, { shared: false, session, sub })) this.count++;
      return;
    }
    const key = sharedKey(sub.shareGroup);
    let entry = this.trie.get(sub.filter, key);
    if (!entry || !entry.shared) {
      entry = { shared: true, members: new Map(), next: 0 };
      this.trie.set(sub.filter, key, entry);
    }
    if (!entry.members.has(session.clientId)) this.count++;
    entry.members.set(session.clientId, { session, sub });
  }

  remove(session: Session, sub: Subscription): void {
    this.routes.clear();
    if (sub.shareGroup === undefined) {
      if (this.trie.delete(sub.filter, session.clientId)) this.count--;
      return;
    }
    const key = sharedKey(sub.shareGroup);
    const entry = this.trie.get(sub.filter, key);
    if (!entry?.shared || !entry.members.delete(session.clientId)) return;
    this.count--;
    if (entry.members.size === 0) this.trie.delete(sub.filter, key);
  }

  /** Every session that should receive a message on this topic, published by `origin`. Read-only result. */
  targets(topic: string, qos: 0 | 1 | 2, origin: string): readonly Target[] {
    const key = `${qos}${topic}`;
    const cached = this.routes.get(key);
    if (cached) return cached;
    let cacheable = true;
    const bySession = new Map<Session, Target>();
    const out: Target[] = [];
    const take = (session: Session, sub: Subscription, separate: boolean): void => {
      const granted = Math.min(qos, sub.qos) as 0 | 1 | 2;
      const ids = sub.subscriptionIdentifier !== undefined ? [sub.subscriptionIdentifier] : undefined;
      const existing = separate ? undefined : bySession.get(session);
      if (existing) {
        if (granted > existing.qos) existing.qos = granted;
        existing.retainAsPublished ||= sub.retainAsPublished;
        if (ids) existing.subscriptionIdentifiers = [...(existing.subscriptionIdentifiers ?? []), ...ids];
        return;
      }
      const target: Target = {
        session,
        qos: granted,
        retainAsPublished: sub.retainAsPublished,
        subscriptionIdentifiers: ids,
      };
      out.push(target);
      if (!separate) bySession.set(session, target);
    };
    this.trie.match(topic, (values) => {
      for (const entry of values.values()) {
        if (!entry.shared) {
          if (entry.sub.noLocal) {
            cacheable = false;
            if (entry.session.clientId === origin) continue;
          }
          take(entry.session, entry.sub, false);
        } else {
          cacheable = false;
          const member = pickMember(entry);
          // Each shared group gets its own copy, even when the chosen member also subscribes plainly.
          if (member) take(member.session, member.sub, true);
        }
      }
    });
    if (cacheable) {
      if (this.routes.size >= ROUTE_CACHE_SIZE) this.routes.clear();
      this.routes.set(key, out);
    }
    return out;
  }
}

/** Round robin over members, preferring connected ones so messages do not pile up for an absent member. */
function pickMember(entry: SharedEntry): { session: Session; sub: Subscription } | undefined {
  const members = [...entry.members.values()];
  if (members.length === 0) return undefined;
  for (let i = 0; i < members.length; i++) {
    const candidate = members[(entry.next + i) % members.length];
    if (candidate.session.connection) {
      entry.next = (entry.next + i + 1) % members.length;
      return candidate;
    }
  }
  const fallback = members[entry.next % members.length];
  entry.next = (entry.next + 1) % members.length;
  return fallback.session.persistent ? fallback : undefined;
}
