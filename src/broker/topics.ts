/**
 * Topic names and filters (MQTT 5 §4.7). Pure functions: validation, matching
 * and the $share prefix.
 */

export type TopicProblem =
  'empty' | 'wildcard-in-name' | 'misplaced-wildcard' | 'null-char' | 'bad-utf8' | 'too-long';

const MAX_TOPIC_BYTES = 65535;

/** Problems common to names and filters: the decoder replaces invalid UTF-8 with U+FFFD, which we treat as invalid. */
function commonProblem(topic: string): TopicProblem | undefined {
  if (topic.length === 0) return 'empty';
  if (topic.includes('\u0000')) return 'null-char';
  if (topic.includes('\uFFFD')) return 'bad-utf8';
  if (topic.length > MAX_TOPIC_BYTES / 3 && Buffer.byteLength(topic) > MAX_TOPIC_BYTES) return 'too-long';
  return undefined;
}

/** A topic name as used in PUBLISH: no wildcards. */
export function topicNameProblem(topic: string): TopicProblem | undefined {
  const problem = commonProblem(topic);
  if (problem) return problem;
  if (topic.includes('+') || topic.includes('#')) return 'wildcard-in-name';
  return undefined;
}

/** A topic filter as used in SUBSCRIBE: `+` fills a whole level, `#` is the whole last level. */
export function topicFilterProblem(filter: string): TopicProblem | undefined {
  const problem = commonProblem(filter);
  if (problem) return problem;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level.length > 1 && (level.includes('+') || level.includes('#'))) return 'misplaced-wildcard';
    if (level === '#' && i !== levels.length - 1) return 'misplaced-wildcard';
  }
  return undefined;
}

export interface SharedFilter {
  group: string;
  filter: string;
}

/**
 * Splits `$share/<group>/<filter>`. Returns undefined for a plain filter and
 * null for a malformed shared one.
 */
export function parseSharedFilter(filter: string): SharedFilter | null | undefined {
  if (!filter.startsWith('$share/')) return undefined;
  const rest = filter.slice('$share/'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const group = rest.slice(0, slash);
  const inner = rest.slice(slash + 1);
  if (group.includes('+') || group.includes('#') || inner.length === 0) return null;
  return { group, filter: inner };
}

/** Whether a topic name matches a filter. Leading wildcards never match `$` topics. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
