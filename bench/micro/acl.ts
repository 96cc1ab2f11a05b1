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
const OPS = 1_000_000;

/**
 * Each PUBLISH brings a freshly decoded topic string whose hash V8 has not
 * computed yet: the strings of every repeat are decoded anew, outside the timing.
 */
function freshStrings(texts: string[]): () => string[] {
  const buf = Buffer.from(texts.join(''), 'latin1');
  return () => {
    const out = new Array<string>(OPS);
    for (let i = 0, off = 0, k = 0; i < OPS; i++, k = (k + 1) % texts.length) {
      if (k === 0) off = 0;
      out[i] = buf.toString('latin1', off, (off += texts[k].length));
    }
    return out;
  };
}

function nsPerOp(make: () => string[], check: (topic: string) => boolean): number {
  const samples: number[] = [];
  let sink = 0;
  for (let r = 0; r < REPEATS; r++) {
    const topics = make();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < OPS; i++) if (check(topics[i])) sink++;
    samples.push(Number(process.hrtime.bigint() - t0) / OPS);
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

const fanIn = freshStrings(Array.from({ length: 10 }, (_, i) => `bench/p${i}`));
const distinct = freshStrings(Array.from({ length: 10_000 }, (_, i) => `other/${i % 1000}/dev${i}/x`));

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
