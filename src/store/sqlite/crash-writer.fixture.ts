/**
 * Child process for crash.test.ts: writes outbound entries as fast as the store
 * allows and prints each seq once its done-callback has fired, i.e. once the
 * store has promised it is durable. The parent SIGKILLs it at some point.
 *
 * Usage: node crash-writer.fixture.js <db path> <total ops>
 */
import { SqliteBrokerStore } from './broker-store.js';

const [path, totalArg] = process.argv.slice(2);
const total = Number(totalArg);
const store = SqliteBrokerStore.open(path);
/** Several submits per turn, so that a kill can land mid-batch with several callbacks pending. */
const perTurn = 25;
let next = 1;

function payloadFor(seq: number): Buffer {
  return Buffer.from(`payload-${seq}`);
}

function submitSome(): void {
  for (let i = 0; i < perTurn && next <= total; i++, next++) {
    const seq = next;
    const message = {
      topic: `crash/${seq}`,
      payload: payloadFor(seq),
      qos: 1 as const,
      retain: false,
      origin: 'w',
    };
    store.submit(
      [
        {
          op: 'outbound.put',
          entry: { seq, clientId: 'w', message, qos: 1, retain: false, state: 'queued' },
        },
      ],
      (err) => {
        if (err) {
          process.stderr.write(`${err.message}\n`);
          process.exit(1);
        }
        // Pipes are synchronous on Linux and short writes are atomic: no half lines.
        process.stdout.write(`${seq}\n`);
      },
    );
  }
  if (next <= total) setImmediate(submitSome);
  else void store.close();
}

submitSome();
