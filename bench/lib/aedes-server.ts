/**
 * Aedes as a benchmark peer: the default in-memory persistence, one TCP
 * listener on 127.0.0.1, nothing else. Run in its own process by the runner.
 *
 *   node dist/bench/lib/aedes-server.js <port>
 */
import net from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2]);
const broker = await Aedes.createBroker();
const server = net.createServer((socket) => broker.handle(socket));
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
