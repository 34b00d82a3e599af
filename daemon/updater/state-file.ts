/**
 * The updater's state in one JSON file (`<updater.root>/updater.json`), written
 * atomically (temp, fsync, rename, fsync of the folder): after a power cut or a
 * SIGKILL it holds the old state or the new one, never half of each.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { parseConfig } from '../../drivers/config.js';
import { writeDurably } from '../core/durable-file.js';
import { activeSlot } from './layout.js';

const SlotT = Type.Union([Type.Literal('a'), Type.Literal('b')]);
const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$' });
const Version = Type.String({ minLength: 1, maxLength: 64 });
const Iso = Type.String({ minLength: 1, maxLength: 40 });

export const UPDATER_STATES = [
  'idle',
  'downloading',
  'verifying',
  'staged',
  'waiting-for-idle',
  'switching',
  'trial',
  'good',
  'rolled-back',
  'failed',
] as const;
export type UpdaterStateName = (typeof UPDATER_STATES)[number];

export const UpdaterStateSchema = Type.Object(
  {
    state: Type.Union(UPDATER_STATES.map((s) => Type.Literal(s))),
    /** Why: for failed and rolled-back, and a refusal's reason. */
    reason: Type.Optional(Type.String({ maxLength: 2000 })),
    /** While downloading. */
    progress: Type.Optional(Type.Object({ bytes: Type.Integer({ minimum: 0 }), total: Type.Integer({ minimum: 0 }) }, { additionalProperties: false })),
    /** The slot `current` points to, as last written by the updater. */
    active: Type.Optional(SlotT),
    /** The last slot that was marked good: where a rollback goes. */
    good: Type.Optional(SlotT),
    /** A verified bundle unpacked into the inactive slot, waiting for the switch. */
    staged: Type.Optional(Type.Object({ slot: SlotT, version: Version, manifestSha256: Sha256 }, { additionalProperties: false })),
    /** The slot on trial after a switch: starts used so far, when the trial began. */
    trial: Type.Optional(Type.Object({ slot: SlotT, version: Version, tries: Type.Integer({ minimum: 0 }), startedAt: Iso }, { additionalProperties: false })),
    history: Type.Array(
      Type.Object(
        {
          at: Iso,
          /** The slot left (none at a first install). */
          from: Type.Optional(SlotT),
          /** The slot switched to. */
          to: SlotT,
          /** The version in `to`. */
          version: Version,
          outcome: Type.String({ minLength: 1, maxLength: 64 }),
          reason: Type.Optional(Type.String({ maxLength: 2000 })),
        },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
  },
  { additionalProperties: false },
);

export type UpdaterState = Static<typeof UpdaterStateSchema>;
export type UpdaterHistoryEntry = UpdaterState['history'][number];

/** History entries kept in the file (the oldest go first). */
export const HISTORY_LIMIT = 50;

export interface UpdaterStateRead {
  state: UpdaterState;
  /** Set when the file was there but unreadable, not JSON or not a valid state: what was wrong, naming the file. */
  problem?: string;
}

/**
 * Read and check the state file. A missing file is a fresh `idle`. A torn or
 * invalid one never throws: it is reported in `problem`, and the state falls
 * back to `failed` with `active`/`good` set to the slot `current` points to
 * (the one that ran last), so that the lane keeps running what it has.
 */
export function readUpdaterState(file: string): UpdaterStateRead {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: { state: 'idle', history: [] } };
    return fallback(file, `cannot read it (${code ?? (err as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return fallback(file, `not valid JSON (${(err as Error).message})`);
  }
  const parsed = parseConfig(UpdaterStateSchema, doc, 'updater state');
  if (!parsed.ok) return fallback(file, parsed.problem);
  return { state: parsed.config };
}

function fallback(file: string, why: string): UpdaterStateRead {
  const slot = activeSlot(dirname(file));
  const problem = `updater state file ${file}: ${why}; it is rewritten at the next transition, the lane keeps running ${slot ? `slot ${slot}` : 'what current points to'}`;
  return { problem, state: { state: 'failed', reason: problem, ...(slot ? { active: slot, good: slot } : {}), history: [] } };
}

/** Write the state atomically; history beyond HISTORY_LIMIT entries is dropped, oldest first. Throws when it is not a valid state. */
export function writeUpdaterState(file: string, state: UpdaterState): void {
  const kept = state.history.length > HISTORY_LIMIT ? { ...state, history: state.history.slice(-HISTORY_LIMIT) } : state;
  const parsed = parseConfig(UpdaterStateSchema, kept, 'updater state');
  if (!parsed.ok) throw new Error(`not writing ${file}: ${parsed.problem}`);
  writeDurably(file, `${JSON.stringify(kept, null, 2)}\n`, 0o644);
}

/**
 * The state in memory and on disk, kept together: every `set` is written
 * atomically first, then `onChange` hears it (doc/updater, the journal line,
 * metrics). A torn or invalid file found at construction is rewritten with the
 * fallback state and its problem reported once through `problem`.
 */
export class UpdaterStateKeeper {
  private state: UpdaterState;
  readonly problem?: string;

  constructor(
    readonly file: string,
    private readonly onChange?: (state: UpdaterState) => void,
  ) {
    const read = readUpdaterState(file);
    this.state = read.state;
    if (read.problem) {
      this.problem = read.problem;
      writeUpdaterState(file, read.state);
    }
  }

  get(): UpdaterState {
    return structuredClone(this.state);
  }

  set(next: UpdaterState): UpdaterState {
    writeUpdaterState(this.file, next);
    this.state = structuredClone(next);
    this.onChange?.(this.get());
    return this.get();
  }

  /** `set(fn(current))`. */
  update(fn: (current: UpdaterState) => UpdaterState): UpdaterState {
    return this.set(fn(this.get()));
  }
}
