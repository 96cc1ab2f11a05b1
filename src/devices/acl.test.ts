import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_ACL,
  TopicAcl,
  patternCoversFilter,
  patternMatchesTopic,
  patternsIntersect,
  type AclRule,
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
});
