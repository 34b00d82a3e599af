import { existsSync } from 'node:fs';
import { CliError, EXIT } from '../../client.js';
import { print, withTechnician, type CliCommand, type CliContext } from '../../context.js';
import { retainedDoc } from '../../lane-doc.js';
import { stateFilePath } from '../../../updater/layout.js';
import { readUpdaterState, type UpdaterHistoryEntry, type UpdaterState } from '../../../updater/state-file.js';

/** doc/updater as the updater service publishes it (daemon/updater/service.ts). */
type UpdaterDoc = UpdaterState & {
  running?: { version: string; slot?: string };
  trial?: UpdaterState['trial'] & { of?: number; trialSeconds?: number };
  rollbackTo?: { slot: string; version: string };
  window?: string;
};

/** doc/updater from the running lane, else the state file (`--root`, else /opt/laned) with laned stopped. */
async function updaterDoc(ctx: CliContext): Promise<{ doc: UpdaterDoc; from: string }> {
  try {
    const doc = await withTechnician(ctx, (c) => retainedDoc<UpdaterDoc>(c, 'updater', 3000));
    if (doc) return { doc, from: 'doc/updater' };
  } catch (err) {
    if (!(err instanceof CliError) || err.code !== EXIT.unavailable) throw err;
  }
  const root = typeof ctx.flags.root === 'string' ? ctx.flags.root : '/opt/laned';
  const file = stateFilePath(root);
  if (!existsSync(file))
    throw new CliError(`laned is not running and there is no ${file}: pass --root with the updater's root (updater.root)`, EXIT.unavailable);
  const read = readUpdaterState(file);
  return { doc: read.state, from: read.problem ?? file };
}

function human(d: UpdaterDoc, from: string): string {
  const lines = [`update: ${d.state}${d.reason ? ` (${d.reason})` : ''}`];
  if (d.progress) lines.push(`  downloaded ${d.progress.bytes} of ${d.progress.total} bytes`);
  if (d.running) lines.push(`running: version ${d.running.version}${d.running.slot ? ` from slot ${d.running.slot}` : ''}`);
  lines.push(`slots: active ${d.active ?? '?'}, good ${d.good ?? '?'}`);
  if (d.staged) lines.push(`staged: version ${d.staged.version} in slot ${d.staged.slot}`);
  if (d.trial)
    lines.push(
      `trial: version ${d.trial.version} in slot ${d.trial.slot}, start ${d.trial.tries}${d.trial.of ? ` of ${d.trial.of}` : ''}, since ${d.trial.startedAt}`,
    );
  if (d.rollbackTo) lines.push(`rollback asked: to version ${d.rollbackTo.version} in slot ${d.rollbackTo.slot}`);
  if (d.window) lines.push(`maintenance window: ${d.window}`);
  const last = d.history.at(-1);
  if (last) lines.push(`last: ${historyLine(last)}`);
  if (from !== 'doc/updater') lines.push(`(laned not running: read from ${from})`);
  return lines.join('\n');
}

export function historyLine(h: UpdaterHistoryEntry): string {
  return `${h.at}  ${h.outcome.padEnd(11)} ${h.from ? `slot ${h.from} -> ` : ''}slot ${h.to}  version ${h.version}${h.reason ? `  (${h.reason})` : ''}`;
}

/** `lanectl update status`: doc/updater of the running lane, else the state file. */
export const status: CliCommand = {
  usage: '[--root DIR]',
  help: 'the update state (idle … staged, waiting-for-idle, switching, trial, good, rolled-back, failed) and why; exit 1 after a rollback or a failure',
  async run(ctx) {
    const { doc, from } = await updaterDoc(ctx);
    print(ctx, doc, () => human(doc, from));
    return doc.state === 'failed' || doc.state === 'rolled-back' ? EXIT.failed : EXIT.ok;
  },
};
