/**
 * What the scan benches share: the lane as the bin runs it (its own process, no
 * devices, only the given services), MQTT clients into it, and percentiles.
 */
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { startDaemon, tempDir, writeConfig, type RunningDaemon } from '../helpers/daemon.js';
import { Credentials } from '../../broker/credentials.js';
import { noDelay } from '../../daemon/runtime/mqtt.js';
import { openBoardClock } from '../../daemon/events/clock.js';
import { newEventId, type Envelope } from '../../daemon/events/envelope.js';

export interface BenchLane {
  dir: string;
  stateDir: string;
  daemon: RunningDaemon;
  connect: (role: 'technician' | 'service', clientId: string) => Promise<MqttClient>;
}

/** `config`: more of the lane's configuration (its id, the uplink). */
export async function benchLane(services: Record<string, Record<string, unknown>>, config: Record<string, unknown> = {}): Promise<BenchLane> {
  const dir = tempDir('laned-bench-');
  const stateDir = join(dir, 'state');
  const daemon = await startDaemon({ stateDir, configFile: writeConfig(dir, { ...config, devices: {}, services }) });
  const passwords = Credentials.readGenerated(stateDir);
  return {
    dir,
    stateDir,
    daemon,
    async connect(role, clientId) {
      const c = noDelay(
        mqtt.connect(daemon.brokerUrl, { clientId, username: role, password: Credentials.passwordOf(passwords, role, clientId), reconnectPeriod: 0 }),
      );
      await new Promise((r) => c.once('connect', r));
      return c;
    },
  };
}

/**
 * The next events of bench sources, as their drivers would publish them: each source's own
 * seq, and the daemon's board clock (same epoch file; CLOCK_MONOTONIC is one clock for every
 * process of a boot).
 */
export function benchEvents(stateDir: string): (source: string, type: string, data: unknown) => Envelope {
  const clock = openBoardClock(stateDir);
  const seqs = new Map<string, number>();
  return (source, type, data) => {
    const seq = (seqs.get(source) ?? 0) + 1;
    seqs.set(source, seq);
    return { id: newEventId(), type, v: 1, source, seq, at: clock.now(), time: new Date().toISOString(), data };
  };
}

export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export const fmt = (xs: number[]): string =>
  `p50 ${pct(xs, 50).toFixed(2)} ms, p99 ${pct(xs, 99).toFixed(2)} ms, max ${Math.max(...xs).toFixed(2)} ms (n=${xs.length})`;
