export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
type Fields = Record<string, unknown>;

/** Injected everywhere that logs; never imported as a global. */
export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** JSON lines on stderr, so stdout stays free for the banner and for tools reading it. */
export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const at = (lineLevel: Exclude<LogLevel, 'silent'>) =>
    RANK[lineLevel] < RANK[level]
      ? () => {}
      : (message: string, fields?: Fields) =>
          write(`${JSON.stringify({ time: new Date().toISOString(), level: lineLevel, message, ...fields })}\n`);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
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
