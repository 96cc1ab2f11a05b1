import { isExpired, type Message } from './message.js';
import { topicMatches } from './topics.js';

/** Retained messages by topic. `$SYS` entries are kept here too but never persisted. */
export class RetainedMessages {
  private readonly byTopic = new Map<string, Message>();

  get size(): number {
    return this.byTopic.size;
  }

  /** Stores or (empty payload) clears; returns whether the store must learn of it. */
  apply(message: Message): 'put' | 'delete' | 'none' {
    if (message.payload.length === 0) return this.byTopic.delete(message.topic) ? 'delete' : 'none';
    this.byTopic.set(message.topic, { ...message, retain: true });
    return 'put';
  }

  load(message: Message): void {
    this.byTopic.set(message.topic, message);
  }

  /** Live retained messages matching a filter; expired ones are dropped on the way (their topics returned). */
  matching(filter: string, now: number, expired: string[]): Message[] {
    const out: Message[] = [];
    const literal = !filter.includes('+') && !filter.includes('#');
    const candidates = literal ? [this.byTopic.get(filter)] : this.byTopic.values();
    for (const message of candidates) {
      if (!message || (!literal && !topicMatches(filter, message.topic))) continue;
      if (isExpired(message, now)) {
        expired.push(message.topic);
        continue;
      }
      out.push(message);
    }
    for (const topic of expired) this.byTopic.delete(topic);
    return out;
  }
}
