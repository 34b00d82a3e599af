/**
 * What the scan benches share: the lane as the bin runs it (its own process, no
 * devices, only the given services), MQTT clients into it, and percentiles.
 */
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { startDaemon, tempDir, writeConfig, type RunningDaemon } from '../helpers/daemon.js';
import { Credentials } from '../../broker/credentials.js';
import { noDelay } from '../../daemon/runtime/mqtt.js';

export interface BenchLane {
  dir: string;
  stateDir: string;
  daemon: RunningDaemon;
  connect: (role: 'technician' | 'service', clientId: string) => Promise<MqttClient>;
}

export async function benchLane(services: Record<string, Record<string, unknown>>): Promise<BenchLane> {
  const dir = tempDir('laned-bench-');
  const stateDir = join(dir, 'state');
  const daemon = await startDaemon({ stateDir, configFile: writeConfig(dir, { devices: {}, services }) });
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

export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export const fmt = (xs: number[]): string =>
  `p50 ${pct(xs, 50).toFixed(2)} ms, p99 ${pct(xs, 99).toFixed(2)} ms, max ${Math.max(...xs).toFixed(2)} ms (n=${xs.length})`;
