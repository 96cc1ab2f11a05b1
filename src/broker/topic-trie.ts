/**
 * Subscription index: a trie over topic levels, so that routing one message
 * costs the depth of the topic, not the number of subscriptions.
 *
 * Each node holds the values of the filters that end there, keyed by owner
 * (client id) so a client's re-subscription replaces its old entry. Shared
 * subscriptions use a group name as part of the key (see broker.ts).
 */
interface TrieNode<V> {
  children: Map<string, TrieNode<V>>;
  values: Map<string, V> | undefined;
}

function newNode<V>(): TrieNode<V> {
  return { children: new Map(), values: undefined };
}

export class TopicTrie<V> {
  private readonly root: TrieNode<V> = newNode();
  private entries = 0;

  get size(): number {
    return this.entries;
  }

  /** Adds or replaces; returns true when the key was new for this filter. */
  set(filter: string, key: string, value: V): boolean {
    let node = this.root;
    for (const level of filter.split('/')) {
      let child = node.children.get(level);
      if (!child) {
        child = newNode();
        node.children.set(level, child);
      }
      node = child;
    }
    node.values ??= new Map();
    const isNew = !node.values.has(key);
    node.values.set(key, value);
    if (isNew) this.entries++;
    return isNew;
  }

  get(filter: string, key: string): V | undefined {
    let node: TrieNode<V> | undefined = this.root;
    for (const level of filter.split('/')) {
      node = node.children.get(level);
      if (!node) return undefined;
    }
    return node.values?.get(key);
  }

  /** Removes and prunes empty branches; returns whether something was removed. */
  delete(filter: string, key: string): boolean {
    const path: TrieNode<V>[] = [this.root];
    const levels = filter.split('/');
    let node = this.root;
    for (const level of levels) {
      const child = node.children.get(level);
      if (!child) return false;
      path.push(child);
      node = child;
    }
    if (!node.values?.delete(key)) return false;
    this.entries--;
    if (node.values.size === 0) node.values = undefined;
    for (let i = levels.length; i > 0; i--) {
      const n = path[i];
      if (n.values || n.children.size > 0) break;
      path[i - 1].children.delete(levels[i - 1]);
    }
    return true;
  }

  /** Calls visit(values) for every node whose filter matches the topic. */
  match(topic: string, visit: (values: Map<string, V>) => void): void {
    const levels = topic.split('/');
    // Wildcards at the first level never match topics starting with '$' (MQTT 5 §4.7.2).
    const dollar = topic.charCodeAt(0) === 36;
    this.walk(this.root, levels, 0, dollar, visit);
  }

  private walk(
    node: TrieNode<V>,
    levels: string[],
    depth: number,
    dollar: boolean,
    visit: (values: Map<string, V>) => void,
  ): void {
    const wildcardsAllowed = !(dollar && depth === 0);
    if (wildcardsAllowed) {
      const hash = node.children.get('#');
      if (hash?.values) visit(hash.values);
    }
    if (depth === levels.length) {
      if (node.values) visit(node.values);
      return;
    }
    const exact = node.children.get(levels[depth]);
    if (exact) this.walk(exact, levels, depth + 1, dollar, visit);
    if (wildcardsAllowed) {
      const plus = node.children.get('+');
      if (plus) this.walk(plus, levels, depth + 1, dollar, visit);
    }
  }
}
