import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { LINE_ERRORS } from '../transport/line/errors.js';
import { FrameSplitter } from '../transport/line/frame-splitter.js';
import { CommandError, EXIT_FAILURE, EXIT_OK, UsageError, intFlag, type CliIo } from './errors.js';

export const LINE_HELP = `Usage: halyard line [options]

Talks the line protocol (docs/line-protocol.md) with a Halyard listener, like
nc with the login done for you: every frame the server sends is printed as it
arrives, and each line typed (or piped) on stdin is sent as one frame. End of
input (Ctrl-D) lets the server answer everything sent, then the connection
closes.

Options:
  -h, --host <host>            server host (default localhost)
  -p, --port <port>            port (default 7000, or 7443 with --tls)
      --tls                    connect over TLS (the "lines" listener)
      --cafile <path>          CA certificate to trust (Halyard's own: <data-dir>/tls/ca.crt)
      --insecure               do not verify the server's certificate
  -d, --device <id>            log in as this device once greeted, with one of:
      --hmac-secret <hex>        its HMAC secret (halyard device hmac); never sent, only the proof
      --token <token>            its access token (halyard device token)
  -c, --command <frame>        send this frame instead of reading stdin; repeatable, sent in order
      --eot                    end the frames sent with EOT (0x04) instead of LF
      --help                   show this help

The secret and token may also come from HALYARD_LINE_SECRET and HALYARD_LINE_TOKEN.

Exit status: 0 the server closed the conversation normally, 1 connection
failed, login refused or the server ended with an error, 2 bad arguments.`;

const LINE_OPTIONS = {
  host: { type: 'string', short: 'h', default: 'localhost' },
  port: { type: 'string', short: 'p' },
  tls: { type: 'boolean' },
  cafile: { type: 'string' },
  insecure: { type: 'boolean' },
  device: { type: 'string', short: 'd' },
  'hmac-secret': { type: 'string' },
  token: { type: 'string' },
  command: { type: 'string', short: 'c', multiple: true },
  eot: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

interface Login {
  device: string;
  /** AUTH for the greeting's nonce. */
  frame(nonce: string): string;
}

function loginOf(values: { device?: string; 'hmac-secret'?: string; token?: string }): Login | undefined {
  const secret = values['hmac-secret'] ?? process.env.HALYARD_LINE_SECRET;
  const token = values.token ?? process.env.HALYARD_LINE_TOKEN;
  const device = values.device;
  if (device === undefined) {
    if (values['hmac-secret'] !== undefined || values.token !== undefined)
      throw new UsageError('--hmac-secret and --token need -d/--device');
    return undefined;
  }
  if ((secret === undefined) === (token === undefined))
    throw new UsageError('-d/--device needs exactly one of --hmac-secret or --token');
  if (secret !== undefined) {
    if (!/^[0-9a-fA-F]{64}$/.test(secret)) throw new UsageError('--hmac-secret must be 64 hex digits');
    const key = Buffer.from(secret, 'hex');
    return {
      device,
      frame: (nonce) => `AUTH|${device}|${createHmac('sha256', key).update(nonce).digest('hex')}`,
    };
  }
  return { device, frame: () => `AUTH|${device}|TOKEN|${token}` };
}

export async function runLine(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: LINE_OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    io.stdout.write(`${LINE_HELP}\n`);
    return EXIT_OK;
  }
  const login = loginOf(values);
  const port = intFlag('--port', values.port, 1, 65535) ?? (values.tls ? 7443 : 7000);
  const terminator = values.eot ? '\x04' : '\n';
  const socket = await connect(values.host, port, values);

  return new Promise<number>((resolve) => {
    let exitCode = EXIT_OK;
    let ready = false;
    let authPending = false;
    /** No more frames will be typed: once they are sent, the server answers them all and closes. */
    let inputDone = false;
    const queued: string[] = [];
    const send = (frame: string) => socket.write(`${frame}${terminator}`);
    const startTalking = () => {
      ready = true;
      for (const frame of queued.splice(0)) send(frame);
      if (inputDone) socket.end();
    };

    const splitter = new FrameSplitter(16 * 1024 * 1024, {
      onFrame: (frame) => {
        const text = frame.toString('utf8');
        io.stdout.write(`${text}\n`);
        if (text.startsWith('ERR|') && (authPending || endsConnection(text))) exitCode = EXIT_FAILURE;
        if (!ready && text.startsWith('HALYARD|')) {
          if (!login) return startTalking();
          authPending = true;
          send(login.frame(text.split('|')[2] ?? ''));
          return;
        }
        if (authPending) {
          authPending = false;
          if (text === 'OK') startTalking();
          else socket.end();
        }
      },
      onOverflow: () => undefined,
    });
    socket.on('data', (chunk: Buffer) => splitter.push(chunk));
    socket.on('error', (err) => {
      io.stderr.write(`halyard line: ${err.message}\n`);
      exitCode = EXIT_FAILURE;
    });
    socket.on('close', () => resolve(exitCode));

    const input = (line: string) => (ready ? send(line) : queued.push(line));
    const endOfInput = () => {
      inputDone = true;
      if (ready) socket.end();
    };
    if (values.command) {
      for (const frame of values.command) input(frame);
      return endOfInput();
    }
    const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
    lines.on('line', input);
    lines.on('close', endOfInput);
  });
}

function endsConnection(errFrame: string): boolean {
  const code = errFrame.split('|')[1] ?? '';
  return Object.hasOwn(LINE_ERRORS, code) && LINE_ERRORS[code as keyof typeof LINE_ERRORS].closes;
}

async function connect(
  host: string,
  port: number,
  options: { tls?: boolean; cafile?: string; insecure?: boolean },
): Promise<net.Socket> {
  const socket = options.tls
    ? tls.connect({
        host,
        port,
        servername: net.isIP(host) ? undefined : host,
        ca: options.cafile ? readFileSync(options.cafile) : undefined,
        rejectUnauthorized: !options.insecure,
      })
    : net.connect(port, host);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
  } catch (err) {
    throw new CommandError(`cannot connect to ${host}:${port}: ${(err as Error).message}`);
  }
  return socket;
}
