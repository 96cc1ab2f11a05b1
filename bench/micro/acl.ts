/**
 * Micro benchmark of the ACL check on the publish hot path, in-process:
 * `node dist/bench/micro/acl.js`. Prints ns per canPublish for the default
 * rights, 10 and 1,000 rules (bench/scenarios/acl-rules.ts), on the fan-in's
 * 10 topics and on 10,000 distinct topics, and µs per compile for a new identity.
 */
import { DEFAULT_ACL, TopicAcl, type AclRule } from '../../src/devices/acl.js';
import { median } from '../lib/stats.js';
import { benchAclRules } from '../scenarios/acl-rules.js';

const REPEATS = 7;
const OPS = 2_000_000;

function nsPerOp(fn: (i: number) => boolean): number {
  const samples: number[] = [];
  let sink = 0;
  for (let r = 0; r < REPEATS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < OPS; i++) if (fn(i)) sink++;
    samples.push(Number(process.hrtime.bigint() - t0) / OPS);
  }
  if (sink === -1) console.log(sink); // keeps the calls from being optimised away
  return median(samples) ?? NaN;
}

const fanInTopics = Array.from({ length: 10 }, (_, i) => `bench/p${i}`);
// Fresh strings, as the broker sees them: each PUBLISH decodes its own topic.
const variedTopics = Array.from({ length: 10_000 }, (_, i) => `other/${i % 1000}/dev${i}/x`);

const sets: [string, readonly AclRule[]][] = [
  ['default rights (no list)', DEFAULT_ACL],
  ['10 rules', benchAclRules(10)],
  ['1,000 rules', benchAclRules(1000)],
];
console.log('| ACL | canPublish, 10 fan-in topics | canPublish, 10,000 topics | compile per identity |');
console.log('| --- | --- | --- | --- |');
for (const [name, rules] of sets) {
  const subs = { username: 'pub', clientId: 'acl-p0' };
  const acl = TopicAcl.compile(rules, subs);
  const hot = nsPerOp((i) => acl.canPublish(fanInTopics[i % 10]));
  const varied = nsPerOp((i) => acl.canPublish(variedTopics[i % 10_000]));
  const compiles = 20_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < compiles; i++) TopicAcl.compile(rules, { username: 'pub', clientId: `c${i}` });
  const compileUs = Number(process.hrtime.bigint() - t0) / compiles / 1000;
  console.log(`| ${name} | ${hot.toFixed(0)} ns | ${varied.toFixed(0)} ns | ${compileUs.toFixed(2)} µs |`);
}
