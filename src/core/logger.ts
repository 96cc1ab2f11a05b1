import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Structured logs. Secrets never reach a log line: the redaction list is the
 * safety net for fields that might carry them by accident.
 */
export function createLogger(
  options: {
    level?: string;
    name?: string;
    /** e.g. 2 (stderr) when stdout is for people. */ fd?: number;
  } = {},
): Logger {
  const config: LoggerOptions = {
    name: options.name ?? 'halyard',
    level: options.level ?? process.env.HALYARD_LOG_LEVEL ?? 'info',
    redact: {
      paths: ['password', '*.password', 'token', '*.token', 'secret', '*.secret'],
      censor: '[redacted]',
    },
  };
  return options.fd === undefined ? pino(config) : pino(config, pino.destination({ fd: options.fd }));
}

/** A logger that drops everything: the default for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
