import { accessSync, constants, mkdirSync } from 'node:fs';

/** EX_CANTCREAT (sysexits.h): the state directory cannot be read or written. */
export const EX_CANTCREAT = 73;

/** The state directory (or a file in it) cannot be read or written: one line for the journal, exit 73. */
export class StateDirError extends Error {
  override name = 'StateDirError';
}

const FS_REFUSALS: Record<string, string> = {
  EROFS: 'is on a read-only filesystem',
  EACCES: 'is not readable and writable by this user',
  EPERM: 'is not readable and writable by this user',
  ENOTDIR: 'is not a directory',
  EISDIR: 'holds a directory where a file belongs',
  EIO: 'gives I/O errors (a failing card?)',
  ENOSPC: 'has no space left',
};

const ADVICE =
  'laned keeps its databases, credentials and board epoch there: check the mount and that the user laned runs as owns it (systemd: StateDirectory=laned)';

function refusal(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException).code;
  return code && FS_REFUSALS[code] ? `${FS_REFUSALS[code]} (${code})` : undefined;
}

/** Make the state directory if need be and check that this user may read, write and enter it. */
export function checkStateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (err) {
    const why = refusal(err);
    if (!why) throw err;
    throw new StateDirError(`state directory ${dir} ${why}; ${ADVICE}`, { cause: err });
  }
}

/** Run `fn` (reading or writing `file` in the state directory); a filesystem refusal becomes a StateDirError naming the file. */
export function inStateDir<T>(dir: string, file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const why = refusal(err);
    if (!why) throw err;
    throw new StateDirError(`state directory ${dir}: ${file} ${why}; ${ADVICE}`, { cause: err });
  }
}
