import { parseArgs } from 'node:util';
import type { ISubscriptionMap, MqttClient } from 'mqtt';
import { CommandError, EXIT_OK, UsageError, intFlag, type CliIo } from './errors.js';
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  clientOptions,
  connectClient,
  describeError,
  parseQos,
  userProperties,
  whenClosed,
} from './mqtt-client.js';

export const SUB_HELP = `Usage: halyard sub -t <filter> [-t <filter>...] [options]

Subscribes and prints every message received as one line, "<topic> <payload>"
(mosquitto_sub -v style; the payload is written as UTF-8 text), until
interrupted, -C messages arrived or -W seconds passed.

Subscription options:
  -t, --topic <filter>         topic filter to subscribe to; repeatable (required)
  -C, --count <n>              exit after receiving n messages
  -W, --timeout <seconds>      exit after this many seconds
  -c, --persistent             keep the session when disconnected (needs -i); with
                               -V 5 the session never expires
  -v, --verbose                accepted for mosquitto_sub habits; topics are always printed

${CONNECTION_HELP}

Exit status: 0 done (interrupted, -C reached or -W passed with no -C), 1 refused,
disconnected or -W passed before -C messages arrived, 2 bad arguments.`;

const SUB_OPTIONS = {
  ...CONNECTION_OPTIONS,
  topic: { type: 'string', short: 't', multiple: true },
  count: { type: 'string', short: 'C' },
  timeout: { type: 'string', short: 'W' },
  persistent: { type: 'boolean', short: 'c' },
  verbose: { type: 'boolean', short: 'v' },
} as const;

export async function runSub(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: SUB_OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    io.stdout.write(`${SUB_HELP}\n`);
    return EXIT_OK;
  }
  const filters = values.topic ?? [];
  if (filters.length === 0) throw new UsageError('at least one -t/--topic is required');
  const count = intFlag('-C/--count', values.count, 1, Number.MAX_SAFE_INTEGER);
  const timeout = intFlag('-W/--timeout', values.timeout, 1, 86_400);
  if (values.persistent && values.id === undefined)
    throw new UsageError('-c/--persistent needs a client id (-i)');
  const qos = parseQos(values.qos);
  const props = userProperties(values);
  const options = clientOptions(values, 'sub', values.persistent === true);

  let received = 0;
  // Messages of a resumed session may arrive with CONNACK: held until the handler below exists.
  const early: [string, Buffer][] = [];
  let onMessage = (topic: string, payload: Buffer) => void early.push([topic, payload]);
  const client = await connectClient(options, (c) =>
    c.on('message', (topic, payload) => onMessage(topic, payload)),
  );
  return new Promise<number>((resolve, reject) => {
    let finished = false;
    const finish = (outcome: number | CommandError) => {
      if (finished) return;
      finished = true;
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      clearTimeout(timer);
      const failed = outcome instanceof CommandError;
      client.end(failed, () => (failed ? reject(outcome) : resolve(outcome)));
    };
    const onSignal = () => finish(EXIT_OK);
    process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
    const timer =
      timeout === undefined
        ? undefined
        : setTimeout(() => {
            if (count === undefined) finish(EXIT_OK);
            else
              finish(new CommandError(`timed out after ${timeout} s with ${received} of ${count} messages`));
          }, timeout * 1000);

    void whenClosed(client).then((why) => finish(new CommandError(why)));
    onMessage = (topic, payload) => {
      if (finished) return;
      io.stdout.write(`${topic} ${payload.toString('utf8')}\n`);
      received++;
      if (count !== undefined && received >= count) finish(EXIT_OK);
    };
    for (const [topic, payload] of early) onMessage(topic, payload);
    subscribe(client, filters, qos, props).catch((err: unknown) =>
      finish(err instanceof CommandError ? err : new CommandError(describeError(err))),
    );
  });
}

async function subscribe(
  client: MqttClient,
  filters: string[],
  qos: 0 | 1 | 2,
  userProps: Record<string, string | string[]> | undefined,
): Promise<void> {
  const map: ISubscriptionMap = {};
  for (const filter of filters) map[filter] = { qos };
  try {
    await client.subscribeAsync(
      map,
      userProps ? { qos, properties: { userProperties: userProps } } : { qos },
    );
  } catch (err) {
    const granted = (err as { packet?: { granted?: (number | { qos: number })[] } }).packet?.granted ?? [];
    const codes = granted.map((g) => (typeof g === 'number' ? g : g.qos));
    const refused = filters.filter((_, i) => (codes[i] & 0x80) !== 0);
    const which = (refused.length > 0 ? refused : filters).map((f) => `"${f}"`).join(', ');
    const code = codes.find((c) => (c & 0x80) !== 0);
    const reason =
      code === undefined ? describeError(err) : `${describeError(err)} (reason code 0x${code.toString(16)})`;
    throw new CommandError(`subscription to ${which} refused: ${reason}`);
  }
}
