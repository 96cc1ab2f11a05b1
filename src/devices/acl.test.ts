import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_ACL,
  TopicAcl,
  patternCoversFilter,
  patternMatchesTopic,
  patternsIntersect,
  substitute,
  usesSubstitution,
  type AclRule,
  type Substitutions,
} from './acl.js';

const L = (s: string) => s.split('/');

describe('pattern relations', () => {
  it('matches topics like MQTT filters, leading wildcards skipping $ topics', () => {
    assert.equal(patternMatchesTopic(L('a/+/c'), L('a/b/c')), true);
    assert.equal(patternMatchesTopic(L('a/#'), L('a')), true);
    assert.equal(patternMatchesTopic(L('a/+'), L('a')), false);
    assert.equal(patternMatchesTopic(L('a/+'), L('a/b/c')), false);
    assert.equal(patternMatchesTopic(L('#'), L('$SYS/uptime')), false);
    assert.equal(patternMatchesTopic(L('+/uptime'), L('$SYS/uptime')), false);
    assert.equal(patternMatchesTopic(L('$SYS/#'), L('$SYS/uptime')), true);
    assert.equal(patternMatchesTopic(L('a//c'), L('a//c')), true);
  });

  const covers: [string, string, boolean][] = [
    ['sensors/#', 'sensors/+/temp', true],
    ['sensors/#', 'sensors/#', true],
    ['sensors/#', 'sensors', true],
    ['sensors/+', 'sensors/#', false],
    ['sensors/+', 'sensors/+', true],
    ['sensors/+', 'sensors/a', true],
    ['sensors/a', 'sensors/+', false],
    ['sensors/+/#', 'sensors/#', false], // `sensors/#` matches `sensors` itself
    ['sensors/+/#', 'sensors/a/#', true],
    ['+/+', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
    ['#', '#', true],
    ['#', '$SYS/#', false],
    ['+/#', '$SYS/x', false],
    ['$SYS/#', '$SYS/+/x', true],
    ['#', '+/x', true],
  ];
  for (const [pattern, filter, expected] of covers) {
    it(`${pattern} ${expected ? 'covers' : 'does not cover'} ${filter}`, () => {
      assert.equal(patternCoversFilter(L(pattern), L(filter)), expected);
    });
  }

  it('detects overlapping patterns', () => {
    assert.equal(patternsIntersect(L('a/#'), L('a')), true);
    assert.equal(patternsIntersect(L('a/+/c'), L('a/b/+')), true);
    assert.equal(patternsIntersect(L('a/+'), L('a/b/c')), false);
    assert.equal(patternsIntersect(L('a/b'), L('a/c')), false);
    assert.equal(patternsIntersect(L('#'), L('$SYS/x')), false);
    assert.equal(patternsIntersect(L('$SYS/#'), L('$SYS/x')), true);
    assert.equal(patternsIntersect(L('+'), L('x')), true);
  });
});

describe('TopicAcl', () => {
  it('default rights: everything but $ topics, plus reading $SYS', () => {
    const acl = TopicAcl.compile(DEFAULT_ACL, { clientId: 'c' });
    assert.equal(acl.canPublish('a/b'), true);
    assert.equal(acl.canPublish('$SYS/broker/uptime'), false);
    assert.equal(acl.canPublish('$other'), false);
    assert.equal(acl.canSubscribe('#'), true);
    assert.equal(acl.canSubscribe('$SYS/#'), true);
    assert.equal(acl.canSubscribe('$other/#'), false);
  });

  it('refuses wildcards in a publish topic', () => {
    const acl = TopicAcl.compile(DEFAULT_ACL, { clientId: 'c' });
    assert.equal(acl.canPublish('a/+'), false);
    assert.equal(acl.canPublish('a/#'), false);
  });

  it('grants only what an explicit list allows, per action', () => {
    const rules: AclRule[] = [
      { action: 'publish', topic: 'up/#' },
      { action: 'subscribe', topic: 'down/+' },
      { action: 'all', topic: 'both' },
    ];
    const acl = TopicAcl.compile(rules, { clientId: 'c' });
    assert.equal(acl.canPublish('up/x/y'), true);
    assert.equal(acl.canSubscribe('up/#'), false);
    assert.equal(acl.canSubscribe('down/x'), true);
    assert.equal(acl.canSubscribe('down/#'), false);
    assert.equal(acl.canPublish('down/x'), false);
    assert.equal(acl.canPublish('both'), true);
    assert.equal(acl.canSubscribe('both'), true);
    assert.equal(acl.canSubscribe('$SYS/#'), false);
  });

  it('lets deny win over allow regardless of order, refusing overlapping filters', () => {
    const rules: AclRule[] = [
      { action: 'all', topic: 'secret/#', permission: 'deny' },
      { action: 'all', topic: '#' },
    ];
    const acl = TopicAcl.compile(rules, { clientId: 'c' });
    assert.equal(acl.canPublish('secret/x'), false);
    assert.equal(acl.canPublish('secret'), false);
    assert.equal(acl.canPublish('public/x'), true);
    assert.equal(acl.canSubscribe('public/#'), true);
    assert.equal(acl.canSubscribe('secret/+'), false);
    assert.equal(acl.canSubscribe('+/x'), false, 'could match secret/x');
    assert.equal(acl.canSubscribe('#'), false, 'could match secret/...');
  });

  it('substitutes %u and %c per identity', () => {
    const rules: AclRule[] = [
      { action: 'all', topic: 'users/%u/#' },
      { action: 'publish', topic: 'clients/%c/status' },
      { action: 'subscribe', topic: 'pre-%u-%c' },
    ];
    const acl = TopicAcl.compile(rules, { username: 'ann', clientId: 'dev1' });
    assert.equal(acl.canPublish('users/ann/x'), true);
    assert.equal(acl.canPublish('users/bob/x'), false);
    assert.equal(acl.canSubscribe('users/ann/#'), true);
    assert.equal(acl.canSubscribe('users/+/#'), false);
    assert.equal(acl.canPublish('clients/dev1/status'), true);
    assert.equal(acl.canPublish('clients/dev2/status'), false);
    assert.equal(acl.canSubscribe('pre-ann-dev1'), true);
  });

  it('drops allow rules whose substitution is unsafe and widens deny rules', () => {
    const rules: AclRule[] = [
      { action: 'all', topic: 'clients/%c/#' },
      { action: 'all', topic: 'open/#' },
      { action: 'all', topic: 'open/%c/admin', permission: 'deny' },
    ];
    const sneaky = TopicAcl.compile(rules, { clientId: 'x/../y' });
    assert.equal(sneaky.canPublish('clients/x/../y/a'), false);
    assert.equal(sneaky.canPublish('open/anyone/admin'), false);
    assert.equal(sneaky.canPublish('open/anyone/other'), true);
    const wild = TopicAcl.compile([{ action: 'all', topic: 'c/%c' }], { clientId: '#' });
    assert.equal(wild.canSubscribe('c/#'), false);
    const noUser = TopicAcl.compile([{ action: 'all', topic: 'u/%u' }], { clientId: 'c' });
    assert.equal(noUser.canPublish('u/'), false);
  });

  it('does not substitute twice', () => {
    const acl = TopicAcl.compile([{ action: 'all', topic: 'c/%c' }], { username: 'ann', clientId: '%u' });
    assert.equal(acl.canPublish('c/%u'), true);
    assert.equal(acl.canPublish('c/ann'), false);
  });

  it('substitutes %d with the device id, under the same safety rule', () => {
    const rules: AclRule[] = [
      { action: 'all', topic: 'devices/%d/#' },
      { action: 'publish', topic: 'devices/%d/config', permission: 'deny' },
    ];
    const acl = TopicAcl.compile(rules, { clientId: 'c', deviceId: 'pump-7' });
    assert.equal(acl.canPublish('devices/pump-7/telemetry'), true);
    assert.equal(acl.canPublish('devices/pump-7/config'), false);
    assert.equal(acl.canSubscribe('devices/pump-7/config'), true);
    assert.equal(acl.canPublish('devices/pump-8/telemetry'), false);
    const none = TopicAcl.compile(rules, { clientId: 'c' });
    assert.equal(none.canPublish('devices//telemetry'), false, 'allow dropped without a device id');
    const open = TopicAcl.compile([{ action: 'all', topic: '#' }, ...rules], {
      clientId: 'c',
      deviceId: 'a/b',
    });
    assert.equal(open.canPublish('devices/x/config'), false, 'deny widened to devices/+/config');
    assert.equal(open.canPublish('devices/x/other'), true);
    assert.equal(usesSubstitution([{ action: 'all', topic: 'x/%d' }]), true);
    assert.equal(usesSubstitution([{ action: 'all', topic: 'x/%z' }]), false);
  });

  it('does not let a substituted value make an allow rule reach $ topics', () => {
    const rules: AclRule[] = [{ action: 'subscribe', topic: '%c/#' }];
    assert.equal(TopicAcl.compile(rules, { clientId: '$SYS' }).canSubscribe('$SYS/#'), false);
    assert.equal(TopicAcl.compile(rules, { clientId: 'dev' }).canSubscribe('dev/#'), true);
    assert.deepEqual(substitute('%c/#', { clientId: '$SYS' }, true), ['$SYS', '#'], 'a deny stays exact');
    assert.deepEqual(substitute('$x-%c/#', { clientId: 'a' }, false), ['$x-a', '#']);
  });

  it('replaces only %u, %c and %d tokens, left to right', () => {
    const subs = { username: 'ann', clientId: 'c%d', deviceId: 'd7' };
    assert.deepEqual(substitute('%%u/%x/100%/%u%c%d', subs, false), ['%ann', '%x', '100%', 'annc%dd7']);
    assert.deepEqual(substitute('a/%u-%u', { clientId: 'c' }, true), ['a', '+']);
  });

  it('compiles a substitution-free list once and shares it', () => {
    const rules: AclRule[] = [{ action: 'all', topic: 'a/#' }];
    const one = TopicAcl.compile(rules, { clientId: 'c1' });
    assert.equal(TopicAcl.compile(rules, { clientId: 'c2', username: 'u' }), one);
    const withSubs: AclRule[] = [...rules, { action: 'all', topic: 'c/%c' }];
    const c1 = TopicAcl.compile(withSubs, { clientId: 'c1' });
    const c2 = TopicAcl.compile(withSubs, { clientId: 'c2' });
    assert.notEqual(c1, c2);
    assert.equal(c1.canPublish('c/c1') && c1.canPublish('a/x') && !c1.canPublish('c/c2'), true);
    assert.equal(c2.canPublish('c/c2') && c2.canPublish('a/x') && !c2.canPublish('c/c1'), true);
  });

  it('compiles several lists as their union, deny winning across lists', () => {
    const profile: AclRule[] = [{ action: 'all', topic: 'site/#' }];
    const device: AclRule[] = [
      { action: 'publish', topic: 'site/%d/cmd', permission: 'deny' },
      { action: 'publish', topic: 'own/%d' },
    ];
    const acl = TopicAcl.compileLayers([profile, device], { clientId: 'c', deviceId: 'd1' });
    assert.equal(acl.canPublish('site/d2/cmd'), true);
    assert.equal(acl.canPublish('site/d1/cmd'), false);
    assert.equal(acl.canPublish('own/d1'), true);
    assert.equal(acl.canSubscribe('site/#'), true, 'the deny is publish-only');
    assert.equal(TopicAcl.compileLayers([], { clientId: 'c' }).canPublish('x'), false);
  });

  it('grants nothing with an empty list', () => {
    const acl = TopicAcl.compile([], { clientId: 'c' });
    assert.equal(acl.canPublish('a'), false);
    assert.equal(acl.canSubscribe('#'), false);
  });
});

/** The straightforward evaluation the trie replaced: every rule checked, one by one. */
class LinearAcl {
  private readonly pub = { allow: [] as string[][], deny: [] as string[][] };
  private readonly sub = { allow: [] as string[][], deny: [] as string[][] };

  constructor(rules: readonly AclRule[], subs: Substitutions) {
    for (const rule of rules) {
      const deny = rule.permission === 'deny';
      const levels = substitute(rule.topic, subs, deny);
      if (levels === undefined) continue;
      const sets =
        rule.action === 'all' ? [this.pub, this.sub] : [rule.action === 'publish' ? this.pub : this.sub];
      for (const set of sets) (deny ? set.deny : set.allow).push([...levels]);
    }
  }

  canPublish(topic: string): boolean {
    if (topic.includes('+') || topic.includes('#')) return false;
    const levels = topic.split('/');
    if (this.pub.deny.some((p) => patternMatchesTopic(p, levels))) return false;
    return this.pub.allow.some((p) => patternMatchesTopic(p, levels));
  }

  canSubscribe(filter: string): boolean {
    const levels = filter.split('/');
    if (this.sub.deny.some((p) => patternsIntersect(p, levels))) return false;
    return this.sub.allow.some((p) => patternCoversFilter(p, levels));
  }
}

/** mulberry32: a small seeded generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('TopicAcl against the linear evaluation (randomized, fixed seed)', () => {
  const rnd = random(0x5eed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const NAMES = ['a', 'b', 'c', '', '$SYS', '$x', 'dev1', 'ann'];
  const TOKENS = ['%u', '%c', '%d', 'p-%c', '%u%d'];
  const VALUES = ['a', 'b', 'dev1', 'ann', '', 'x/y', '+', '#', '$SYS', '%u', undefined];

  const levels = (wild: number, tokens: number): string[] => {
    const n = 1 + Math.floor(rnd() * 4);
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = rnd();
      if (r < wild / 2) out.push('+');
      else if (r < wild) {
        out.push('#');
        break;
      } else if (r < wild + tokens) out.push(pick(TOKENS));
      else out.push(pick(NAMES));
    }
    return out;
  };
  const rule = (): AclRule => ({
    action: pick(['publish', 'subscribe', 'all'] as const),
    topic: levels(0.35, 0.1).join('/'),
    ...(rnd() < 0.3 ? { permission: 'deny' as const } : {}),
  });
  const subs = (): Substitutions => ({
    clientId: pick(VALUES) ?? 'dev1',
    ...(rnd() < 0.8 ? { username: pick(VALUES) } : {}),
    ...(rnd() < 0.8 ? { deviceId: pick(VALUES) } : {}),
  });

  it('agrees on publish and subscribe decisions', () => {
    const outcomes = { pub: [0, 0], sub: [0, 0] };
    for (let set = 0; set < 400; set++) {
      const size = set % 10 === 0 ? 300 : Math.floor(rnd() * 12);
      const rules = Array.from({ length: size }, rule);
      // Split in two lists half the time, to check compileLayers against the same union.
      const cut = Math.floor(rnd() * (size + 1));
      const layered = rnd() < 0.5;
      for (let identity = 0; identity < 3; identity++) {
        const s = subs();
        const expected = new LinearAcl(rules, s);
        const actual = layered
          ? TopicAcl.compileLayers([rules.slice(0, cut), rules.slice(cut)], s)
          : TopicAcl.compile(rules, s);
        const context = () => JSON.stringify({ set, rules, subs: s, layered, cut });
        for (let q = 0; q < 60; q++) {
          const topic = levels(0.03, 0)
            .map((l) => (l === '%u' ? 'ann' : l))
            .join('/');
          const want = expected.canPublish(topic);
          if (actual.canPublish(topic) !== want)
            assert.fail(`publish ${topic}: expected ${want} ${context()}`);
          outcomes.pub[Number(want)]++;
          const filter = levels(0.3, 0).join('/');
          const grant = expected.canSubscribe(filter);
          if (actual.canSubscribe(filter) !== grant) {
            assert.fail(`subscribe ${filter}: expected ${grant} ${context()}`);
          }
          outcomes.sub[Number(grant)]++;
        }
      }
    }
    console.log(JSON.stringify(outcomes));
    // The comparison means something only if both answers come up often.
    for (const [allowed, total] of [outcomes.pub, outcomes.sub].map(([no, yes]) => [yes, no + yes])) {
      assert.ok(allowed > total * 0.05 && allowed < total * 0.95, JSON.stringify(outcomes));
    }
  });

  it('keeps agreeing once the decision cache is full and starts over', () => {
    const rules = Array.from({ length: 300 }, rule);
    const s = { clientId: 'dev1', username: 'ann', deviceId: 'b' };
    const expected = new LinearAcl(rules, s);
    const actual = TopicAcl.compile(rules, s);
    const pool = Array.from({ length: 600 }, () => levels(0, 0).join('/'));
    for (let q = 0; q < 20_000; q++) {
      const topic = pick(pool);
      if (actual.canPublish(topic) !== expected.canPublish(topic))
        assert.fail(`publish ${topic} at query ${q}`);
    }
  });
});
