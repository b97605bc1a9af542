import { pino } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
type Fields = Record<string, unknown>;

/**
 * Injected everywhere that logs; never imported as a global. The gateway's own shape (message first, fields
 * after) over pino, so call sites read as sentences; `isDebug` lets the traffic logs at `debug` (a connection,
 * a subscription, a publish) skip building their fields when nobody reads them.
 */
export interface Logger {
  readonly isDebug: boolean;
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
}

/**
 * Structured JSON lines through pino, on stderr so stdout stays free for the banner and for tools reading it.
 * Each line has `time` (ISO), `level` (its name), `message` and the fields. `write` replaces stderr (tests).
 */
export function createLogger(level: LogLevel, write?: (line: string) => void): Logger {
  const destination = write ? { write } : pino.destination({ dest: 2, sync: true });
  const logger = pino(
    {
      level,
      base: undefined,
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  const at = (method: 'debug' | 'info' | 'warn' | 'error') =>
    logger.isLevelEnabled(method) ? (message: string, fields?: Fields) => (fields ? logger[method](fields, message) : logger[method](message)) : () => {};
  return { isDebug: logger.isLevelEnabled('debug'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * A log line for a condition that may repeat many times a second (dropped publishes while Redis is away, a
 * client sending the same bad frame): written at most once per `intervalMs`, with how many times it happened.
 */
export function throttledLog(log: Logger, level: Exclude<LogLevel, 'silent'>, message: string, intervalMs = 10_000, now: () => number = Date.now) {
  let count = 0;
  let lastMs = Number.NEGATIVE_INFINITY;
  return (fields?: Fields): void => {
    count++;
    const at = now();
    if (at - lastMs < intervalMs) return;
    log[level](message, { ...fields, times: count });
    count = 0;
    lastMs = at;
  };
}
