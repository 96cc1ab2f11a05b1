import { resolve } from 'node:path';
import { describeIssues, formatProblems } from './config-errors.js';
import { configSchema, type Config } from './config-schema.js';
import {
  ENV_CONFIG_FILE,
  fromEnv,
  fromFile,
  fromFlags,
  mergeInto,
  type RawObject,
} from './config-sources.js';
import { HalyardError } from './errors.js';

export type {
  AclRuleConfig,
  Config,
  ConfigBrokerOptions,
  SecurityConfig,
  UserConfig,
} from './config-schema.js';
export { configSchema } from './config-schema.js';
export { envToPath } from './config-sources.js';
export type { ConfigProblem } from './config-errors.js';

export interface LoadConfigInput {
  /** Flags only (what follows `halyard start`), e.g. ['--port', '1884', '--config', 'halyard.json']. */
  argv: readonly string[];
  env: Record<string, string | undefined>;
  /** Relative paths (config file, dataDir, TLS files) are resolved against this. */
  cwd: string;
}

/**
 * Builds the configuration from, lowest precedence first: schema defaults, the
 * JSON config file (`--config` or HALYARD_CONFIG), HALYARD_* environment
 * variables, then flags. Everything is validated by one schema; a failure
 * throws CONFIG_INVALID naming every bad key and the source that set it.
 * Reads nothing but the config file.
 */
export function loadConfig({ argv, env, cwd }: LoadConfigInput): Config {
  const flags = fromFlags(argv);
  const envValues = fromEnv(env);
  const raw: RawObject = {};
  const sources = new Map(envValues.sources);

  const fileArg = flags.configFile ?? env[ENV_CONFIG_FILE];
  if (fileArg !== undefined && fileArg !== '') {
    const file = resolve(cwd, fileArg);
    mergeInto(raw, fromFile(file));
    // '' is the fallback for every key: anything not set by env or flags came from the file.
    sources.set('', { kind: 'file', name: file });
  }
  mergeInto(raw, envValues.values);
  mergeInto(raw, flags.values);
  for (const [path, source] of flags.sources) sources.set(path, source);

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const problems = describeIssues(result.error.issues, raw, sources);
    throw new HalyardError('CONFIG_INVALID', formatProblems(problems), { problems });
  }
  return resolvePaths(result.data, cwd);
}

/** Makes every path absolute so that nothing later depends on the process's working directory. */
function resolvePaths(config: Config, cwd: string): Config {
  const tls = <T extends { certFile?: string; keyFile?: string; caFile?: string }>(listener: T): T => {
    const out = { ...listener };
    for (const key of ['certFile', 'keyFile', 'caFile'] as const) {
      const p = listener[key];
      if (p !== undefined) out[key] = resolve(cwd, p);
    }
    return out;
  };
  return {
    ...config,
    dataDir: resolve(cwd, config.dataDir),
    listeners: {
      ...config.listeners,
      mqtts: tls(config.listeners.mqtts),
      https: tls(config.listeners.https),
    },
  };
}
