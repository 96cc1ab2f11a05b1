/** The real Channels over real SQLite channel and telemetry stores, for the API tests. */
import { join } from 'node:path';
import { silentLogger } from '../../core/logger.js';
import { SqliteTelemetryStore } from '../../telemetry/sqlite/telemetry-store.js';
import type { TelemetryStore } from '../../telemetry/store.js';
import type { TestRegistry } from '../../../test/helpers/registry.js';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { Channels } from '../channels.js';
import { SqliteChannelStore } from '../sqlite/channel-store.js';
import type { ChannelStore } from '../store.js';

export function openTestChannels(
  test: TestRegistry,
  now: () => number,
): { channels: Channels; store: ChannelStore; telemetry: TelemetryStore; close(): Promise<void> } {
  const dir = tempDir('halyard-thingspeak-');
  const store = SqliteChannelStore.open(join(dir, 'thingspeak.db'));
  const telemetry = SqliteTelemetryStore.open(join(dir, 'telemetry.db'));
  const channels = new Channels({
    store,
    registry: test.registry,
    telemetry,
    secretKey: test.secretKey,
    now,
    logger: silentLogger(),
  });
  return {
    channels,
    store,
    telemetry,
    close: async () => {
      await channels.close();
      await store.close();
      await telemetry.close();
    },
  };
}
