import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

export type Logger = PinoLogger;

/** pino level number -> journald priority, sd-daemon(3) "<N>" prefix. */
function priority(level: number): number {
  if (level >= 60) return 2; // fatal -> crit
  if (level >= 50) return 3; // error
  if (level >= 40) return 4; // warning
  if (level >= 30) return 6; // info
  return 7; // debug, trace
}

const LEVEL_AT_START = /^\{"level":(\d+)/;

/**
 * The daemon's root logger: one JSON record per line on stdout, prefixed with its
 * journald priority so `journalctl -p err` works under systemd (sd-daemon(3)).
 * Components take a child: `log.child({ component: 'drivers/serial/scanner' })`.
 */
export function createLogger(opts: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? process.env.LANED_LOG_LEVEL ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      hooks: {
        streamWrite(s: string): string {
          const m = LEVEL_AT_START.exec(s);
          return `<${priority(m ? Number(m[1]) : 30)}>${s}`;
        },
      },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** A logger that drops everything, for tools and tests that do not want output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
