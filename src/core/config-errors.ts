import type { core } from 'zod';
import type { ConfigSource, RawObject, SourceMap } from './config-sources.js';

/**
 * Renders zod issues as one line per bad key: the key path, what is wrong in
 * plain words, the value given and where it came from, e.g.
 * `listeners.mqtt.port: must be ≤ 65535 (got 70000) [from HALYARD_LISTENERS__MQTT__PORT]`.
 */

export interface ConfigProblem {
  path: string;
  message: string;
  source?: ConfigSource;
}

/** Values under these keys are never echoed back. */
const SECRET_KEYS = new Set(['passwordHash', 'password', 'secret', 'token']);

export function describeIssues(
  issues: readonly core.$ZodIssue[],
  raw: RawObject,
  sources: SourceMap,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const full = [...path, key];
        problems.push({ path: full.join('.'), message: 'unknown key', source: sourceOf(full, sources) });
      }
      continue;
    }
    const value = valueAt(raw, path);
    const source = sourceOf(path, sources);
    let message = explain(issue, value);
    const secret = path.some((p) => SECRET_KEYS.has(p));
    if (value.found && !secret && issue.code !== 'custom') message += ` (got ${show(value.value, source)})`;
    problems.push({ path: path.join('.') || '(root)', message, source });
  }
  return problems;
}

export function formatProblems(problems: readonly ConfigProblem[]): string {
  const lines = problems.map((p) => {
    const from = p.source
      ? ` [from ${p.source.kind === 'file' ? `config file ${p.source.name}` : p.source.name}]`
      : '';
    return `  ${p.path}: ${p.message}${from}`;
  });
  return `Invalid configuration:\n${lines.join('\n')}`;
}

function explain(issue: core.$ZodIssue, value: { found: boolean }): string {
  switch (issue.code) {
    case 'too_big':
      return `must be ${issue.inclusive ? '≤' : '<'} ${String(issue.maximum)}${unit(issue.origin)}`;
    case 'too_small':
      if (issue.origin === 'string' && issue.minimum === 1) return 'must not be empty';
      return `must be ${issue.inclusive ? '≥' : '>'} ${String(issue.minimum)}${unit(issue.origin)}`;
    case 'invalid_type':
      if (!value.found) return 'is required';
      if (issue.expected === 'int') return 'must be an integer';
      return `must be ${article(issue.expected)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'regex' ? issue.message : `must be a valid ${issue.format}`;
    default:
      return issue.message;
  }
}

function unit(origin: string): string {
  if (origin === 'string') return ' characters';
  if (origin === 'array') return ' entries';
  return '';
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** Strings from the environment and flags are shown as typed; everything else as JSON. */
function show(value: unknown, source: ConfigSource | undefined): string {
  const text = typeof value === 'string' && source?.kind !== 'file' ? value : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function valueAt(raw: unknown, path: readonly string[]): { found: boolean; value?: unknown } {
  let node = raw;
  for (const key of path) {
    if (typeof node === 'string') {
      // A JSON string given for an array (users through an env variable) is parsed by the schema; follow it.
      try {
        node = JSON.parse(node) as unknown;
      } catch {
        return { found: false };
      }
    }
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return { found: false };
    node = (node as Record<string, unknown>)[key];
  }
  return { found: node !== undefined, value: node };
}

/** The source of the longest recorded prefix of `path`; '' is the config file. */
function sourceOf(path: readonly string[], sources: SourceMap): ConfigSource | undefined {
  for (let n = path.length; n >= 0; n--) {
    const hit = sources.get(path.slice(0, n).join('.'));
    if (hit) return hit;
  }
  return undefined;
}
