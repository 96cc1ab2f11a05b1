/**
 * Topic ACLs: rules of MQTT topic patterns, compiled into a trie of pattern
 * levels so that a check is a walk as deep as the topic (plus a branch per `+`
 * that can match), whatever the number of rules.
 *
 * - A rule applies to `publish`, `subscribe` or `all`, and `allow`s (default) or
 *   `deny`s. Deny beats allow, whatever the order.
 * - Patterns use `+` and `#`; `%u`, `%c` and `%d` inside a level are replaced by
 *   the username, the client id and the device id. A value containing `/`, `+`
 *   or `#` (or a missing one) cannot be substituted safely: an allow rule using
 *   it is dropped, a deny rule turns that level into `+` so that it denies more,
 *   never less. An allow rule whose first level only starts with `$` because of
 *   a substituted value is dropped too: a client picks its own client id.
 * - As in topic matching (MQTT §4.7.2), a pattern starting with a wildcard does
 *   not reach topics starting with `$`: `#` does not grant `$SYS/...`.
 * - A subscription filter is allowed only when every topic it could match is
 *   allowed: some allow pattern covers the whole filter and no deny pattern
 *   overlaps it (with allow `#` and deny `secret/#`, `#` itself is refused).
 *
 * One trie holds a list's rules; each node carries bits for the four kinds
 * (publish/subscribe × allow/deny) of the patterns that end there, continue
 * with `#` there, or pass through it. canPublish collects the kinds matching
 * the topic; canSubscribe looks for a deny that overlaps the filter (pruned by
 * those bits) and an allow that covers it. Publish decisions are also
 * remembered per ACL for the last few hundred topics.
 *
 * Compiling is cheap for the common case of a device connecting again and
 * again: the rules of a list that use no substitution are compiled once per
 * list (lists are treated as immutable and recognised by identity) and shared
 * by every identity; only the substituted rules get a small trie of their own.
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

export interface Substitutions {
  username?: string;
  clientId: string;
  deviceId?: string;
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
const TOKEN = /%[ucd]/;

/** The substitution values, each undefined when missing or unsafe; checked once per identity. */
interface Values {
  u: string | undefined;
  c: string | undefined;
  d: string | undefined;
}

const safe = (value: string | undefined): string | undefined =>
  value === undefined || value === '' || UNSAFE_VALUE.test(value) ? undefined : value;

const valuesOf = (subs: Substitutions): Values => ({
  u: safe(subs.username),
  c: safe(subs.clientId),
  d: safe(subs.deviceId),
});

const U = 0x75;
const C = 0x63;
const D = 0x64;

/**
 * `level` with its tokens replaced, in one left-to-right pass (a client id
 * containing "%u" is not substituted again); null when a value is unsafe.
 */
function substituteLevel(level: string, values: Values): string | null {
  let out = '';
  let from = 0;
  for (let i = level.indexOf('%'); i >= 0; i = level.indexOf('%', i)) {
    const code = level.charCodeAt(i + 1);
    if (code !== U && code !== C && code !== D) {
      i++;
      continue;
    }
    const value = code === U ? values.u : code === C ? values.c : values.d;
    if (value === undefined) return null;
    out += level.slice(from, i) + value;
    from = i += 2;
  }
  return out + level.slice(from);
}

function substituteLevels(pattern: Levels, values: Values, deny: boolean): Levels | undefined {
  const levels: string[] = [];
  for (const level of pattern) {
    const replaced = level.includes('%') ? substituteLevel(level, values) : level;
    if (replaced === null) {
      if (!deny) return undefined;
      levels.push('+');
      continue;
    }
    // `%c/#` must not grant `$SYS/#` to a client that calls itself `$SYS` (a deny may stay exact).
    if (!deny && levels.length === 0 && isSystem(replaced) && !isSystem(level)) return undefined;
    levels.push(replaced);
  }
  return levels;
}

/** Levels of `pattern` with substitutions applied; undefined when the rule must be dropped. */
export function substitute(pattern: string, subs: Substitutions, deny: boolean): Levels | undefined {
  return substituteLevels(pattern.split('/'), valuesOf(subs), deny);
}

export function usesSubstitution(rules: readonly AclRule[]): boolean {
  return rules.some((r) => TOKEN.test(r.topic));
}

// Which kinds of rule a trie node holds, as bits of one number.
const PUB_ALLOW = 1;
const PUB_DENY = 2;
const SUB_ALLOW = 4;
const SUB_DENY = 8;
const PUB = PUB_ALLOW | PUB_DENY;

/** One pattern level. Fields are fixed at construction so that every node has one shape. */
class TrieNode {
  /** Literal next levels. */
  children: Map<string, TrieNode> | undefined = undefined;
  /** The `+` next level. */
  plus: TrieNode | undefined = undefined;
  /** Kinds of the patterns that end here. */
  end = 0;
  /** Kinds of the patterns that continue with `#` here: they match this level and all below it. */
  hash = 0;
  /** Kinds of every pattern through this node (end, hash and deeper): walks skip subtrees without the one sought. */
  below = 0;
}

function insert(root: TrieNode, levels: Levels, kinds: number): void {
  let node = root;
  node.below |= kinds;
  for (const level of levels) {
    if (level === '#') {
      node.hash |= kinds; // what follows a `#` can never matter
      return;
    }
    let next = level === '+' ? node.plus : node.children?.get(level);
    if (next === undefined) {
      next = new TrieNode();
      if (level === '+') node.plus = next;
      else (node.children ??= new Map()).set(level, next);
    }
    next.below |= kinds;
    node = next;
  }
  node.end |= kinds;
}

/** A rule as the trie takes it: split, with its kind bits. */
interface SplitRule {
  levels: Levels;
  deny: boolean;
  kinds: number;
}

function splitRule(rule: AclRule): SplitRule {
  const deny = rule.permission === 'deny';
  const pub = rule.action !== 'subscribe' ? (deny ? PUB_DENY : PUB_ALLOW) : 0;
  const sub = rule.action !== 'publish' ? (deny ? SUB_DENY : SUB_ALLOW) : 0;
  return { levels: rule.topic.split('/'), deny, kinds: pub | sub };
}

/**
 * Kinds of the patterns under `node` that match `topic` from the level starting
 * at `pos` on (past the end: the topic is done). Levels are cut from the string
 * as the walk needs them, not split up front: a miss at the first level costs one lookup.
 */
function topicKinds(node: TrieNode, topic: string, pos: number): number {
  let kinds = node.hash;
  if (pos > topic.length) return kinds | node.end;
  let end = topic.indexOf('/', pos);
  if (end < 0) end = topic.length;
  const next = node.children?.get(topic.slice(pos, end));
  if (next !== undefined && (next.below & PUB) !== 0) kinds |= topicKinds(next, topic, end + 1);
  if (node.plus !== undefined && (node.plus.below & PUB) !== 0)
    kinds |= topicKinds(node.plus, topic, end + 1);
  return kinds;
}

const DOLLAR = 0x24;

function matchTopic(root: TrieNode, topic: string): number {
  if (topic.charCodeAt(0) !== DOLLAR) return topicKinds(root, topic, 0);
  // Neither the root's `#` nor its `+` reaches a `$` topic.
  let end = topic.indexOf('/');
  if (end < 0) end = topic.length;
  const next = root.children?.get(topic.slice(0, end));
  return next === undefined ? 0 : topicKinds(next, topic, end + 1);
}

/** Whether a pattern of kind `kind` under `node` matches every topic `filter` matches from level `i` on. */
function covers(node: TrieNode, filter: Levels, i: number, kind: number): boolean {
  if ((node.below & kind) === 0) return false;
  if ((node.hash & kind) !== 0) return true;
  if (i === filter.length) return (node.end & kind) !== 0;
  const level = filter[i];
  if (level === '#') return false;
  if (level !== '+') {
    const next = node.children?.get(level);
    if (next !== undefined && covers(next, filter, i + 1, kind)) return true;
  }
  return node.plus !== undefined && covers(node.plus, filter, i + 1, kind);
}

function coversFilter(root: TrieNode, filter: Levels, kind: number): boolean {
  if (!isSystem(filter[0])) return covers(root, filter, 0, kind);
  const next = root.children?.get(filter[0]);
  return next !== undefined && covers(next, filter, 1, kind);
}

/** Whether a pattern of kind `kind` under `node` shares a topic with `filter` from level `i` on. */
function overlaps(node: TrieNode, filter: Levels, i: number, kind: number, skipSystem = false): boolean {
  if ((node.below & kind) === 0) return false;
  if ((node.hash & kind) !== 0) return true;
  if (i === filter.length) return (node.end & kind) !== 0;
  const level = filter[i];
  if (level === '#') {
    // Matches this level and everything below: any pattern here or deeper overlaps, except `$…` ones at the root.
    if (!skipSystem || (node.end & kind) !== 0 || ((node.plus?.below ?? 0) & kind) !== 0) return true;
    for (const [name, child] of node.children ?? []) {
      if ((child.below & kind) !== 0 && !isSystem(name)) return true;
    }
    return false;
  }
  if (level === '+') {
    if (node.plus !== undefined && overlaps(node.plus, filter, i + 1, kind)) return true;
    for (const [name, child] of node.children ?? []) {
      if (!(skipSystem && isSystem(name)) && overlaps(child, filter, i + 1, kind)) return true;
    }
    return false;
  }
  const next = node.children?.get(level);
  if (next !== undefined && overlaps(next, filter, i + 1, kind)) return true;
  return node.plus !== undefined && overlaps(node.plus, filter, i + 1, kind);
}

function overlapsFilter(root: TrieNode, filter: Levels, kind: number): boolean {
  if (isSystem(filter[0])) {
    const next = root.children?.get(filter[0]);
    return next !== undefined && overlaps(next, filter, 1, kind);
  }
  // A filter starting with a wildcard does not reach `$…` patterns either.
  return overlaps(root, filter, 0, kind, isWildcard(filter[0]));
}

/** A rule list split once: its substitution-free rules compiled, the others kept for each identity. */
interface PreparedList {
  shared: TrieNode | undefined;
  perIdentity: readonly SplitRule[];
  /** The whole ACL when nothing depends on the identity. */
  acl: TopicAcl | undefined;
}

const prepared = new WeakMap<readonly AclRule[], PreparedList>();

/**
 * Publish decisions remembered per ACL: a device publishes to a handful of topics, over and over,
 * and one hash lookup of the topic costs a fraction of a walk (see BENCHMARKS.md, Authorization cost).
 */
const DECISION_CACHE_SIZE = 256;
/**
 * Misses tolerated once the cache is full before it starts over: a client cycling through more
 * topics than it holds then pays only the lookup and the walk, not a Map insertion per message.
 */
const MISSES_BEFORE_RESET = 4 * DECISION_CACHE_SIZE;

export class TopicAcl {
  private readonly publishDecisions = new Map<string, boolean>();
  private missesWhenFull = 0;

  private constructor(private readonly tries: readonly TrieNode[]) {}

  static compile(rules: readonly AclRule[], subs: Substitutions): TopicAcl {
    return TopicAcl.prepare(rules).acl ?? TopicAcl.compileLayers([rules], subs);
  }

  /**
   * One ACL from several rule lists (e.g. a device profile's and the device's
   * own): their union, deny beating allow across lists. Each list's
   * substitution-free part is compiled once and shared.
   */
  static compileLayers(lists: readonly (readonly AclRule[])[], subs: Substitutions): TopicAcl {
    const tries: TrieNode[] = [];
    let own: TrieNode | undefined;
    let values: Values | undefined;
    for (const rules of lists) {
      const list = TopicAcl.prepare(rules);
      if (list.shared !== undefined) tries.push(list.shared);
      for (const rule of list.perIdentity) {
        const levels = substituteLevels(rule.levels, (values ??= valuesOf(subs)), rule.deny);
        if (levels !== undefined) insert((own ??= new TrieNode()), levels, rule.kinds);
      }
    }
    if (own !== undefined && own.below !== 0) tries.push(own);
    return new TopicAcl(tries);
  }

  private static prepare(rules: readonly AclRule[]): PreparedList {
    let entry = prepared.get(rules);
    if (entry !== undefined) return entry;
    const root = new TrieNode();
    const perIdentity: SplitRule[] = [];
    for (const rule of rules) {
      const split = splitRule(rule);
      if (TOKEN.test(rule.topic)) perIdentity.push(split);
      else insert(root, split.levels, split.kinds);
    }
    const shared = root.below === 0 ? undefined : root;
    const acl = perIdentity.length === 0 ? new TopicAcl(shared === undefined ? [] : [shared]) : undefined;
    entry = { shared, perIdentity, acl };
    prepared.set(rules, entry);
    return entry;
  }

  canPublish(topic: string): boolean {
    const known = this.publishDecisions.get(topic);
    if (known !== undefined) return known;
    const decision = this.decidePublish(topic);
    if (this.publishDecisions.size < DECISION_CACHE_SIZE) this.publishDecisions.set(topic, decision);
    else if (++this.missesWhenFull >= MISSES_BEFORE_RESET) {
      this.publishDecisions.clear();
      this.missesWhenFull = 0;
    }
    return decision;
  }

  private decidePublish(topic: string): boolean {
    if (topic.includes('+') || topic.includes('#')) return false;
    let kinds = 0;
    for (const trie of this.tries) kinds |= matchTopic(trie, topic);
    return (kinds & PUB) === PUB_ALLOW;
  }

  canSubscribe(filter: string): boolean {
    const levels = filter.split('/');
    if (this.tries.some((trie) => overlapsFilter(trie, levels, SUB_DENY))) return false;
    return this.tries.some((trie) => coversFilter(trie, levels, SUB_ALLOW));
  }
}
