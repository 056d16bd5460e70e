import pino, { type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  name: string;
  /** @default 'info' */
  level?: string;
  /** Human-readable output; default: only when stdout is a terminal. */
  pretty?: boolean;
}

// Passwords and tokens never reach the log, wherever they sit in a logged object.
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'password',
  '*.password',
  '*.*.password',
  'redis_password',
  '*.redis_password',
  'token',
  '*.token',
];

export function createLogger(options: LoggerOptions): Logger {
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  return pino({
    name: options.name,
    level: options.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '******' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
}
