import { join } from 'node:path';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { describeChannelStoreConformance } from '../store.suite.js';
import { SqliteChannelStore } from './channel-store.js';

describeChannelStoreConformance('sqlite', () =>
  Promise.resolve({
    store: SqliteChannelStore.open(join(tempDir('halyard-thingspeak-'), 'thingspeak.db'), {
      synchronous: 'normal',
    }),
  }),
);
