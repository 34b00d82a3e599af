#!/usr/bin/env -S MALLOC_ARENA_MAX=2 UV_THREADPOOL_SIZE=8 node --max-semi-space-size=2
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { loadConfig, ConfigError } from './core/config.js';
import { resolveStateDir } from './core/paths.js';
import { createLogger } from './core/log.js';
import { Daemon } from './daemon.js';
import { StateDirError, EX_CANTCREAT } from './lifecycle/state-dir.js';

const USAGE = `usage: laned [--config FILE] [--state-dir DIR] [--only SERVICE]

  --config FILE     YAML configuration (default: every default, all devices simulated)
  --state-dir DIR   databases and generated credentials (default: $STATE_DIRECTORY, else ~/.local/state/laned)
  --only SERVICE    run one service alone against a running daemon's broker
`;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        config: { type: 'string' },
        'state-dir': { type: 'string' },
        only: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`laned: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let config;
  try {
    config = loadConfig(args.config ?? process.env.LANED_CONFIG);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`laned: ${err.message}\n`);
      // EX_CONFIG (sysexits.h): systemd's RestartPreventExitStatus can stop a crash loop on it
      return 78;
    }
    throw err;
  }
  const log = createLogger({ level: config.log.level });
  const configFile = args.config ?? process.env.LANED_CONFIG;
  let daemon: Daemon;
  try {
    daemon = new Daemon({
      config,
      stateDir: resolveStateDir(args['state-dir']),
      log,
      ...(args.only ? { only: args.only } : {}),
      ...(configFile ? { configFile: resolve(configFile) } : {}),
    });
  } catch (err) {
    if (!(err instanceof StateDirError)) throw err;
    // one line, no stack: a restart cannot mend the mount or its owner
    process.stderr.write(`laned: ${err.message}\n`);
    return EX_CANTCREAT;
  }
  let stopping: Promise<void> | undefined;
  const stop = (signal: string): void => {
    if (stopping) return;
    log.info({ signal }, `${signal}: stopping`);
    stopping = daemon.stop().then(
      () => process.exit(0),
      (err: Error) => {
        log.error({ err: err.message }, 'stop failed');
        process.exit(1);
      },
    );
  };
  // A bug in one part must not crash-loop the lane: log it loudly and keep serving.
  process.on('unhandledRejection', (reason) => {
    log.error(
      { err: reason instanceof Error ? reason.stack : String(reason) },
      `unhandled rejection: ${reason instanceof Error ? reason.message : String(reason)}`,
    );
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    await daemon.start();
  } catch (err) {
    log.fatal({ err: (err as Error).message }, `laned could not start: ${(err as Error).message}`);
    return err instanceof StateDirError ? EX_CANTCREAT : 1;
  }
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: Error) => {
    process.stderr.write(`laned: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
