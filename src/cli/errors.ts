/** Exit codes shared by every command, so scripts can tell a typo from a broker that said no. */
export const EXIT_OK = 0;
/** The broker refused, the connection failed, a timeout hit: the command was right but did not work. */
export const EXIT_FAILURE = 1;
/** Bad flags or configuration: nothing was attempted. */
export const EXIT_USAGE = 2;

/** Wrong flags or values; printed with a pointer to the command's --help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Something that went wrong after the arguments were accepted; printed as one line. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export const processIo = (): CliIo => ({
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});

/** Parses an integer flag within [min, max]; anything else is a UsageError naming the flag. */
export function intFlag(
  flag: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} must be an integer from ${min} to ${max} (got "${value}")`);
  }
  return n;
}

/** Reads a stream to its end. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}
