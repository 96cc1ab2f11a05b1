import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { IClientPublishOptions, MqttClient } from 'mqtt';
import { CommandError, EXIT_OK, UsageError, readAll, type CliIo } from './errors.js';
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

export const PUB_HELP = `Usage: halyard pub -t <topic> (-m <message> | -f <file> | -s | -l | -n) [options]

Publishes one message (or one per input line with -l) and exits, like mosquitto_pub.

Message options (exactly one):
  -t, --topic <topic>          topic to publish to (required)
  -m, --message <text>         the message
  -f, --file <path>            send a file's contents as the message
  -s, --stdin-file             read stdin to its end and send it as one message
  -l, --stdin-line             send each line of stdin as a message; blank lines are skipped
  -n, --null-message           send an empty message (with -r: clears the retained message)
  -r, --retain                 set the retain flag

${CONNECTION_HELP}

Exit status: 0 sent (acknowledged for QoS 1/2), 1 refused or connection failed, 2 bad arguments.`;

const PUB_OPTIONS = {
  ...CONNECTION_OPTIONS,
  topic: { type: 'string', short: 't' },
  message: { type: 'string', short: 'm' },
  file: { type: 'string', short: 'f' },
  'stdin-file': { type: 'boolean', short: 's' },
  'stdin-line': { type: 'boolean', short: 'l' },
  'null-message': { type: 'boolean', short: 'n' },
  retain: { type: 'boolean', short: 'r' },
} as const;

type Source = { kind: 'message'; payload: Buffer } | { kind: 'lines' };

export async function runPub(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: PUB_OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    io.stdout.write(`${PUB_HELP}\n`);
    return EXIT_OK;
  }
  if (!values.topic) throw new UsageError('-t/--topic is required');
  const topic = values.topic;
  if (topic.includes('+') || topic.includes('#'))
    throw new UsageError(`cannot publish to a wildcard topic "${topic}"`);
  const chosen = (['message', 'file', 'stdin-file', 'stdin-line', 'null-message'] as const).filter(
    (k) => values[k] !== undefined && values[k] !== false,
  );
  if (chosen.length !== 1) throw new UsageError('give exactly one of -m, -f, -s, -l or -n');

  const publishOptions: IClientPublishOptions = { qos: parseQos(values.qos), retain: values.retain === true };
  const props = userProperties(values);
  if (props) publishOptions.properties = { userProperties: props };
  const options = clientOptions(values, 'pub');

  let source: Source;
  if (values.message !== undefined) source = { kind: 'message', payload: Buffer.from(values.message) };
  else if (values['null-message']) source = { kind: 'message', payload: Buffer.alloc(0) };
  else if (values.file !== undefined) source = { kind: 'message', payload: readMessageFile(values.file) };
  // Read before connecting, so that a slow pipe cannot outlast the keep-alive.
  else if (values['stdin-file']) source = { kind: 'message', payload: await readAll(io.stdin) };
  else source = { kind: 'lines' };

  const client = await connectClient(options);
  const closed = whenClosed(client).then((why) => Promise.reject(new CommandError(why)));
  closed.catch(() => undefined); // only observed through the races below
  try {
    if (source.kind === 'message') await publish(client, topic, source.payload, publishOptions, closed);
    else {
      const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
      for await (const line of lines) {
        if (line.length > 0) await publish(client, topic, Buffer.from(line), publishOptions, closed);
      }
    }
    // Everything is acknowledged by now, so a clean DISCONNECT cannot wait on anything.
    await client.endAsync();
  } finally {
    client.end(true);
  }
  return EXIT_OK;
}

async function publish(
  client: MqttClient,
  topic: string,
  payload: Buffer,
  options: IClientPublishOptions,
  closed: Promise<never>,
): Promise<void> {
  try {
    await Promise.race([client.publishAsync(topic, payload, options), closed]);
  } catch (err) {
    if (err instanceof CommandError) throw err;
    throw new CommandError(`publish to "${topic}" refused: ${describeError(err)}`);
  }
}

function readMessageFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read -f ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}
