import net from 'node:net';
import { startTestBroker } from '../helpers/broker-harness.js';
import { describeConformance } from './suite.js';

describeConformance('TCP', async ({ options, now }) => {
  const tb = await startTestBroker({ options, now });
  let closed = false;
  return {
    broker: tb.broker,
    url: tb.url,
    clientOptions: {},
    openStream: () =>
      new Promise((resolve, reject) => {
        const socket = net.connect(tb.port, '127.0.0.1', () => resolve(socket));
        socket.once('error', reject);
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      await tb.close();
    },
  };
});
