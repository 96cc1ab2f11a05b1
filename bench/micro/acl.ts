/**
 * Micro benchmark of the ACL check on the publish hot path, in-process:
 * `node dist/bench/micro/acl.js` after `npm run build`. For the default rights
 * and for 10 and 1,000 rules (bench/scenarios/acl-rules.ts) it prints ns per
 * canPublish on the fan-in's 10 topics (decision cache hits) and on 10,000
 * distinct topics (misses: the trie walk), the same misses through a linear
 * scan of every rule (what a check cost before the trie), and µs per compile
 * for a new identity.
 */
import {
  DEFAULT_ACL,
  TopicAcl,
  patternMatchesTopic,
  substitute,
  type AclRule,
  type Substitutions,
} from '../../src/devices/acl.js';
import { median } from '../lib/stats.js';
import { benchAclRules } from '../scenarios/acl-rules.js';

const REPEATS = 7;
const SAMPLE_NS = 150_000_000n;

/** Median over REPEATS samples of ~150 ms each, in ns per call. */
function nsPerOp(topics: readonly string[], check: (topic: string) => boolean): number {
  const samples: number[] = [];
  let sink = 0;
  for (let r = 0; r < REPEATS; r++) {
    const t0 = process.hrtime.bigint();
    let ops = 0;
    let elapsed = 0n;
    do {
      for (let i = 0; i < 1024; i++, ops++) if (check(topics[ops % topics.length])) sink++;
      elapsed = process.hrtime.bigint() - t0;
    } while (elapsed < SAMPLE_NS);
    samples.push(Number(elapsed) / ops);
  }
  if (sink === -1) console.log(sink); // keeps the calls from being optimised away
  return median(samples) ?? NaN;
}

/** The evaluation before the trie, without its cache: every rule tried in turn. */
function linear(rules: readonly AclRule[], subs: Substitutions): (topic: string) => boolean {
  const allow: (readonly string[])[] = [];
  const deny: (readonly string[])[] = [];
  for (const rule of rules) {
    if (rule.action === 'subscribe') continue;
    const levels = substitute(rule.topic, subs, rule.permission === 'deny');
    if (levels) (rule.permission === 'deny' ? deny : allow).push(levels);
  }
  return (topic) => {
    const levels = topic.split('/');
    return (
      !deny.some((p) => patternMatchesTopic(p, levels)) && allow.some((p) => patternMatchesTopic(p, levels))
    );
  };
}

// Reused strings keep their hash once computed; a topic decoded from a PUBLISH computes it
// once (~10-20 ns), in whichever lookup comes first.
const fanIn = Array.from({ length: 10 }, (_, i) => `bench/p${i}`);
const distinct = Array.from({ length: 10_000 }, (_, i) => `other/${i % 1000}/dev${i}/x`);

const sets: [string, readonly AclRule[]][] = [
  ['default rights (no list)', DEFAULT_ACL],
  ['10 rules', benchAclRules(10)],
  ['1,000 rules', benchAclRules(1000)],
];
console.log(
  '| ACL | 10 fan-in topics (cached) | 10,000 distinct topics (trie) | same, linear scan | compile, new identity |',
);
console.log('| --- | --- | --- | --- | --- |');
for (const [name, rules] of sets) {
  const subs = { username: 'ruled', clientId: 'acl-p0' };
  const acl = TopicAcl.compile(rules, subs);
  const cached = nsPerOp(fanIn, (t) => acl.canPublish(t));
  const walked = nsPerOp(distinct, (t) => acl.canPublish(t));
  const scanned = nsPerOp(distinct, linear(rules, subs));
  const compiles = 20_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < compiles; i++) TopicAcl.compile(rules, { username: 'ruled', clientId: `c${i}` });
  const compileUs = Number(process.hrtime.bigint() - t0) / compiles / 1000;
  const ns = (x: number): string => `${x.toFixed(0)} ns`;
  console.log(`| ${name} | ${ns(cached)} | ${ns(walked)} | ${ns(scanned)} | ${compileUs.toFixed(2)} µs |`);
}
