import type { AclRule } from '../../src/devices/acl.js';

/** The one rule that grants the fan-in's topics (`bench/p<i>`, `bench/p<i>/<k>`), placed last. */
export const GRANT: AclRule = { action: 'publish', topic: 'bench/+/#' };

/**
 * `count` ACL rules shaped like a real deployment's, none of which but the last
 * grants the benchmark topics: per-device allows on other topics, some denies,
 * `%u`/`%c`-substituted rules (compiled per identity), a few `#` rules, and
 * GRANT at the end (the worst place for a linear scan).
 */
export function benchAclRules(count: number): AclRule[] {
  const rules: AclRule[] = [];
  for (let i = 0; rules.length < count - 1; i++) {
    if (i % 100 === 7) rules.push({ action: 'all', topic: `archive/${i}/#`, permission: 'deny' });
    else if (i % 50 === 3) rules.push({ action: 'all', topic: `%u/${i}/#` });
    else if (i % 50 === 4) rules.push({ action: 'publish', topic: `clients/%c/${i}`, permission: 'deny' });
    else if (i % 20 === 5) rules.push({ action: 'subscribe', topic: `zone/${i}/+/#` });
    else if (i % 10 === 6)
      rules.push({ action: 'publish', topic: `other/${i}/secret/#`, permission: 'deny' });
    else rules.push({ action: 'publish', topic: `other/${i}/+/x` });
  }
  rules.push(GRANT);
  return rules;
}
