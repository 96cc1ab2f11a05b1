/**
 * Topic ACLs: rules of MQTT topic patterns, compiled once per identity into
 * split levels so that a check per message is a walk over a few short arrays.
 *
 * - A rule applies to `publish`, `subscribe` or `all`, and `allow`s (default) or
 *   `deny`s. Deny beats allow, whatever the order.
 * - Patterns use `+` and `#`; `%u` and `%c` inside a level are replaced by the
 *   username and the client id. A value containing `/`, `+` or `#` (or a missing
 *   username) cannot be substituted safely: an allow rule using it is dropped,
 *   a deny rule turns that level into `+` so that it denies more, never less.
 * - As in topic matching (MQTT §4.7.2), a pattern starting with a wildcard does
 *   not reach topics starting with `$`: `#` does not grant `$SYS/...`.
 * - A subscription filter is allowed only when every topic it could match is
 *   allowed: some allow pattern covers the whole filter and no deny pattern
 *   overlaps it (with allow `#` and deny `secret/#`, `#` itself is refused).
 */

export type AclAction = 'publish' | 'subscribe' | 'all';

export interface AclRule {
  action: AclAction;
  topic: string;
  permission?: 'allow' | 'deny';
}

/** Rights of a user without an ACL list, and of anonymous clients: everything but `$` topics, plus reading $SYS. */
export const DEFAULT_ACL: readonly AclRule[] = [
  { action: 'all', topic: '#' },
  { action: 'subscribe', topic: '$SYS/#' },
];

type Levels = readonly string[];

interface RuleSet {
  allow: Levels[];
  deny: Levels[];
}

export interface Substitutions {
  username?: string;
  clientId: string;
}

const isWildcard = (level: string | undefined) => level === '+' || level === '#';
const isSystem = (level: string | undefined) => level !== undefined && level.startsWith('$');

/** Whether `pattern` matches topic name `topic`. */
export function patternMatchesTopic(pattern: Levels, topic: Levels): boolean {
  if (isSystem(topic[0]) && isWildcard(pattern[0])) return false;
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '#') return true;
    if (i >= topic.length) return false;
    if (pattern[i] !== '+' && pattern[i] !== topic[i]) return false;
  }
  return pattern.length === topic.length;
}

/** Whether every topic that `filter` can match is also matched by `pattern`. */
export function patternCoversFilter(pattern: Levels, filter: Levels): boolean {
  if (isSystem(filter[0]) && isWildcard(pattern[0])) return false;
  for (let i = 0; ; i++) {
    if (pattern[i] === '#') return true; // also covers the parent level that a filter's `#` matches
    if (i >= filter.length) return i >= pattern.length;
    if (i >= pattern.length) return false;
    if (filter[i] === '#') return false;
    if (filter[i] === '+') {
      if (pattern[i] !== '+') return false;
    } else if (pattern[i] !== '+' && pattern[i] !== filter[i]) return false;
  }
}

/** Whether some topic is matched by both `a` and `b`. */
export function patternsIntersect(a: Levels, b: Levels): boolean {
  if ((isWildcard(a[0]) && isSystem(b[0])) || (isWildcard(b[0]) && isSystem(a[0]))) return false;
  for (let i = 0; ; i++) {
    if (a[i] === '#' || b[i] === '#') return true;
    const aEnded = i >= a.length;
    const bEnded = i >= b.length;
    if (aEnded || bEnded) return aEnded && bEnded;
    if (a[i] !== '+' && b[i] !== '+' && a[i] !== b[i]) return false;
  }
}

const UNSAFE_VALUE = /[/+#]/;

/** Levels of `pattern` with substitutions applied; undefined when the rule must be dropped. */
function substitute(pattern: string, subs: Substitutions, deny: boolean): Levels | undefined {
  const levels: string[] = [];
  for (const level of pattern.split('/')) {
    if (!level.includes('%')) {
      levels.push(level);
      continue;
    }
    let unsafe = false;
    // One pass, so that a client id containing "%u" is not substituted again.
    const replaced = level.replace(/%[uc]/g, (token) => {
      const value = token === '%u' ? subs.username : subs.clientId;
      if (value === undefined || value === '' || UNSAFE_VALUE.test(value)) unsafe = true;
      return value ?? '';
    });
    if (!unsafe) levels.push(replaced);
    else if (deny) levels.push('+');
    else return undefined;
  }
  return levels;
}

export function usesSubstitution(rules: readonly AclRule[]): boolean {
  return rules.some((r) => /%[uc]/.test(r.topic));
}

/** Publish decisions remembered per ACL: a device publishes to a handful of topics, over and over. */
const DECISION_CACHE_SIZE = 256;

export class TopicAcl {
  private readonly publishDecisions = new Map<string, boolean>();

  private constructor(
    private readonly publish: RuleSet,
    private readonly subscribe: RuleSet,
  ) {}

  static compile(rules: readonly AclRule[], subs: Substitutions): TopicAcl {
    const publish: RuleSet = { allow: [], deny: [] };
    const subscribe: RuleSet = { allow: [], deny: [] };
    for (const rule of rules) {
      const deny = rule.permission === 'deny';
      const levels = substitute(rule.topic, subs, deny);
      if (levels === undefined) continue;
      const targets =
        rule.action === 'all' ? [publish, subscribe] : [rule.action === 'publish' ? publish : subscribe];
      for (const set of targets) (deny ? set.deny : set.allow).push(levels);
    }
    return new TopicAcl(publish, subscribe);
  }

  canPublish(topic: string): boolean {
    const known = this.publishDecisions.get(topic);
    if (known !== undefined) return known;
    const decision = this.decidePublish(topic);
    if (this.publishDecisions.size >= DECISION_CACHE_SIZE) this.publishDecisions.clear();
    this.publishDecisions.set(topic, decision);
    return decision;
  }

  private decidePublish(topic: string): boolean {
    if (topic.includes('+') || topic.includes('#')) return false;
    const levels = topic.split('/');
    if (this.publish.deny.some((p) => patternMatchesTopic(p, levels))) return false;
    return this.publish.allow.some((p) => patternMatchesTopic(p, levels));
  }

  canSubscribe(filter: string): boolean {
    const levels = filter.split('/');
    if (this.subscribe.deny.some((p) => patternsIntersect(p, levels))) return false;
    return this.subscribe.allow.some((p) => patternCoversFilter(p, levels));
  }
}
