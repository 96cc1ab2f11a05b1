import { hashPassword } from '../../src/devices/password.js';
import { fanIn, lossOf, type FanInResult } from '../gen/fanin.js';
import { benchAclRules } from './acl-rules.js';
import { cpuFigures, phases, type Metric, type Scenario } from './types.js';

const RULES = 1000;
const PASSWORD = 'bench';
const PLAIN = { username: 'plain', password: PASSWORD };
const RULED = { username: 'ruled', password: PASSWORD };
const N = RULES.toLocaleString('en-US');

// One scrypt hash for every broker start of the run (it takes ~50 ms).
let passwordHash: Promise<string> | undefined;

/**
 * The cost of authorization on the publish path: the QoS 0 fan-in 10→1 on one
 * Halyard process, with the publishers logged in as a user without an ACL list
 * (default rights) and as one with 1,000 rules (bench/scenarios/acl-rules.ts);
 * the subscriber is anonymous. Twice: each publisher on its one topic (ACL
 * decisions come from the per-ACL cache), then each cycling through 682 topics,
 * more than that cache holds (every message walks the ACL). Each time an
 * unmeasured second of publishing comes first (JIT, the broker's first sight
 * of the topics), then the two users alternate (none, rules, rules, none) so
 * that drift weighs on both alike; each figure is the mean of its two phases.
 */
export const aclCost: Scenario = {
  name: 'acl-1000',
  title: `QoS 0 fan-in 10→1, publishers without ACL vs with ${N} ACL rules`,
  quick: false,
  brokers: ['halyard'],
  async halyardConfig() {
    const hash = await (passwordHash ??= hashPassword(PASSWORD));
    return {
      users: [
        { username: PLAIN.username, passwordHash: hash },
        { username: RULED.username, passwordHash: hash, acl: benchAclRules(RULES) },
      ],
    };
  },
  async run({ port, brokerPid, quick }) {
    const metrics: Metric[] = [];
    for (const distinctTopics of [false, true]) {
      const phase = (login: typeof PLAIN, prefix: string, warmUp = false): Promise<FanInResult> =>
        fanIn({
          port,
          brokerPid,
          publishers: 10,
          subscribers: 1,
          filter: 'bench/#',
          qos: 0,
          payloadSize: 64,
          window: 1000,
          clientPrefix: `${distinctTopics ? 'ad' : 'a1'}${prefix}`,
          publisherLogin: login,
          distinctTopics,
          ...(warmUp ? { warmupMs: 0, durationMs: 1000 } : phases(quick)),
        });
      // Unmeasured: the first phase on new topics would otherwise pay for the broker's first sight of them.
      await phase(PLAIN, 'w', true);
      const none = [await phase(PLAIN, 'n0')];
      const ruled = [await phase(RULED, 'r0')];
      ruled.push(await phase(RULED, 'r1'));
      none.push(await phase(PLAIN, 'n1'));
      const a = summary(none);
      const b = summary(ruled);
      const ratio = a.value !== null && b.value !== null ? b.value / a.value : null;
      const [key, topics] = distinctTopics ? ['-topics', ', 682 topics each'] : ['', ''];
      metrics.push(
        { key: `acl-none${key}`, label: `QoS 0 fan-in 10→1${topics}, publishers without ACL`, ...a },
        { key: `acl-1000${key}`, label: `QoS 0 fan-in 10→1${topics}, publishers with ${N} ACL rules`, ...b },
        {
          key: `acl-ratio${key}`,
          label: `${distinctTopics ? '682 topics each: t' : 'T'}hroughput with ${N} ACL rules ÷ without`,
          ...b,
          unit: '×',
          value: ratio,
          loss: ratio === null ? (a.loss ?? b.loss) : null,
          extra: undefined,
        },
      );
    }
    return metrics;
  },
};

function summary(runs: FanInResult[]): Omit<Metric, 'key' | 'label'> {
  const loss = runs.map(lossOf).find((l) => l !== null) ?? null;
  const mean = (f: (r: FanInResult) => number): number => runs.reduce((n, r) => n + f(r), 0) / runs.length;
  return {
    unit: 'msgs/s',
    better: 'higher',
    value: loss ? null : mean((r) => r.rate),
    loss,
    ...cpuFigures({
      genCpu: mean((r) => r.cpu.genCpu),
      brokerCpu: mean((r) => r.cpu.brokerCpu),
      otherCpu: mean((r) => r.cpu.otherCpu),
      elapsedMs: mean((r) => r.cpu.elapsedMs),
    }),
    extra: `phases: ${runs.map((r) => Math.round(r.rate).toLocaleString('en-US')).join(', ')} msgs/s`,
  };
}
