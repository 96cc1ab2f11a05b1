import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EXIT_OK, EXIT_USAGE, UsageError, type CliIo } from './errors.js';

/** `halyard device add …`: commands made of subcommands, each with its own flags. */

export type Subcommand = (argv: string[], io: CliIo) => Promise<number>;

/**
 * Runs `argv[0]` from `table`. No subcommand prints the help to stderr (exit 2),
 * `--help`/`-h`/`help` prints it to stdout.
 */
export async function dispatch(
  command: string,
  help: string,
  table: Record<string, Subcommand>,
  argv: string[],
  io: CliIo,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(`${help}\n`);
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${help}\n`);
    return EXIT_OK;
  }
  if (!Object.hasOwn(table, name)) {
    throw new UsageError(
      `unknown subcommand "${name}"; expected ${Object.keys(table).join(', ')} (halyard ${command} <subcommand>)`,
    );
  }
  return table[name](rest, io);
}

/**
 * util.parseArgs with the positional arguments checked by name: `['id']` means
 * exactly one, and the error names what is missing or extra.
 */
export function parseSubcommand<O extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: O,
  positionals: readonly string[] = [],
) {
  const parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  const values = parsed.values as { help?: boolean };
  if (!values.help) {
    if (parsed.positionals.length < positionals.length) {
      throw new UsageError(`missing <${positionals[parsed.positionals.length]}>`);
    }
    if (parsed.positionals.length > positionals.length) {
      throw new UsageError(`unexpected argument "${parsed.positionals[positionals.length]}"`);
    }
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

/** Writes the help and returns true when --help was given. */
export function helpRequested(values: { help?: boolean }, help: string, io: CliIo): boolean {
  if (values.help) io.stdout.write(`${help}\n`);
  return values.help === true;
}

/** `--label k=v` flags as a record; a flag without "=" or an empty key is a usage error. */
export function parseLabels(pairs: readonly string[] | undefined): Record<string, string> | undefined {
  if (pairs === undefined) return undefined;
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--label expects key=value (got "${pair}")`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}

export function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]) {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be one of ${allowed.join(', ')} (got "${value}")`);
  }
  return value as T;
}
