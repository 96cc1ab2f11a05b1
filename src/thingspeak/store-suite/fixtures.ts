import type { Channel, ChannelEntry } from '../model.js';
import type { ChannelStore } from '../store.js';
import type { StoreSuiteContext } from '../../store/conformance-harness.js';

export type SuiteContext = StoreSuiteContext<ChannelStore>;

export const T0 = 1_700_006_400_000;

export const newChannel = (over: Partial<Omit<Channel, 'id'>> = {}): Omit<Channel, 'id'> => ({
  tenantId: 't1',
  deviceId: null,
  name: 'My Channel',
  description: null,
  fields: {
    field1: 'Field Label 1',
    field2: null,
    field3: null,
    field4: null,
    field5: null,
    field6: null,
    field7: null,
    field8: null,
  },
  metadata: null,
  tags: [],
  url: null,
  latitude: null,
  longitude: null,
  elevation: null,
  publicFlag: false,
  minUpdateIntervalSeconds: 0,
  createdAt: T0,
  updatedAt: T0,
  lastEntryId: 0,
  lastUpdateAt: null,
  ...over,
});

export const entry = (
  channelId: number,
  createdAt: number,
  fields: ChannelEntry['fields'],
  over: Partial<ChannelEntry> = {},
): Omit<ChannelEntry, 'entryId'> => ({
  channelId,
  createdAt,
  fields,
  status: null,
  latitude: null,
  longitude: null,
  elevation: null,
  ...over,
});

/** One append as a group of its own: the stored entry, or the append's failure thrown. */
export async function append(
  store: ChannelStore,
  e: Omit<ChannelEntry, 'entryId'>,
  at: number,
  merge = false,
): Promise<ChannelEntry> {
  const [outcome] = await store.appendGroup([{ entry: e, at, merge }]);
  if ('value' in outcome) return outcome.value;
  throw outcome.error;
}
