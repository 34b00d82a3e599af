/** One log call: fields first, then the message (pino's order), or a message alone. */
export interface LogFn {
  (fields: Record<string, unknown>, message?: string): void;
  (message: string): void;
}

/**
 * The logger drivers need: four levels and a child per component. The daemon
 * passes its pino logger, which has these and more.
 */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

const drop: LogFn = () => undefined;

/** A logger that drops everything, for simulations and tests that do not want output. */
export function silentLogger(): Logger {
  const log: Logger = { debug: drop, info: drop, warn: drop, error: drop, child: () => log };
  return log;
}
