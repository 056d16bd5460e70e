/** One log call: object first, then the message (pino's order). */
export interface LogMethod {
  (object: object, message?: string): void;
  (message: string): void;
}

/**
 * The logger every package takes: a structural subset of pino's, so an app passes its pino
 * logger (or a child) and a library user may pass anything that has these methods.
 */
export interface Logger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  child(bindings: Record<string, unknown>): Logger;
}

const ignore: LogMethod = () => undefined;

/** A logger that drops everything: the default of every library option. */
export const SILENT_LOGGER: Logger = {
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
  child: () => SILENT_LOGGER,
};
