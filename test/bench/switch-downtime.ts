// The switch's downtime: READY=1 of the running version -> READY=1 of the new one,
// through the whole path (idle lease, graceful stop, database snapshot, current to
// the new slot, exit, RestartSec=, the boot check, start). Slots are folders here,
// the supervisor runs the unit's own commands (test/helpers/supervisor.ts).
// Prints numbers; it never passes or fails.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/daemon.js';
import { supervise } from '../helpers/supervisor.js';
import { installedLane, stageByCopy } from '../helpers/slots.js';
import { stateFilePath } from '../../daemon/updater/layout.js';
import { readUpdaterState } from '../../daemon/updater/state-file.js';

const restartSec = Number(/^RestartSec=(\d+)/m.exec(readFileSync(join(ROOT, 'systemd/laned.service'), 'utf8'))?.[1] ?? 0);
const runs = Number(process.env.BENCH_SWITCH_RUNS ?? 3);
const ms = (ns: bigint): number => Number(ns) / 1e6;
const rows: Array<{ downtime: number; restartGap: number; start: number }> = [];
for (let i = 0; i < runs; i++) {
  const lane = installedLane({ trialSeconds: 1 });
  const sup = await supervise({ ...lane, restartMs: restartSec * 1000 });
  await sup.waitFor(() => sup.running()?.readyAt !== undefined, 120_000, 'slot a ready');
  stageByCopy(lane, 'b', '0.1.1');
  await sup.waitFor(() => sup.starts.some((s) => s.slot === 'b' && s.readyAt !== undefined), 180_000, 'slot b ready');
  await sup.waitFor(() => readUpdaterState(stateFilePath(lane.root)).state.state === 'good', 60_000, 'slot b good');
  const old = sup.starts[0]!;
  const next = sup.starts.find((s) => s.slot === 'b')!;
  rows.push({ downtime: ms(next.readyAt! - old.stoppingAt!), restartGap: ms(next.spawnedAt - old.stoppingAt!), start: ms(next.readyAt! - next.spawnedAt) });
  await sup.stop();
}
const fmt = (xs: number[]): string => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} ms`;
process.stdout.write(
  `switch downtime (the old version's STOPPING=1 -> the new one's READY=1), ${runs} runs: ${fmt(rows.map((r) => r.downtime))}` +
    ` (stop, snapshot, switch, RestartSec=${restartSec} and the boot check: ${fmt(rows.map((r) => r.restartGap))}; the new version's start to READY: ${fmt(rows.map((r) => r.start))})\n`,
);
