import { Writable } from 'node:stream';
import mqtt, { type MqttClient } from 'mqtt';
import { validateConfig } from '../../daemon/core/config.js';
import { createLogger } from '../../daemon/core/log.js';
import { Daemon } from '../../daemon/daemon.js';
import { noDelay } from '../../daemon/runtime/mqtt.js';
import type { Role } from '../../daemon/core/config.js';
import { quietSimulatedDevices, tempDir } from './daemon.js';

export interface InProcessLane {
  daemon: Daemon;
  stateDir: string;
  /** Every log record, parsed. */
  logs: Array<Record<string, unknown>>;
  brokerUrl: string;
  connect(role: Role, clientId: string, opts?: mqtt.IClientOptions): Promise<MqttClient>;
  stop(): Promise<void>;
}

/** A daemon in this process, ports picked by the kernel, logs captured; without `devices` the quiet simulated lane. */
export async function startLane(config: Record<string, unknown>, stateDir = tempDir()): Promise<InProcessLane> {
  const cfg = validateConfig(
    { devices: quietSimulatedDevices(), ...config, broker: { port: 0, ...(config.broker as object) }, http: { port: 0, ...(config.http as object) } },
    'test',
  );
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line) logs.push(JSON.parse(line.replace(/^<\d>/, '')) as Record<string, unknown>);
      }
      done();
    },
  });
  const log = createLogger({ level: 'debug', destination: sink });
  const daemon = new Daemon({ config: cfg, stateDir, log });
  await daemon.start();
  const brokerUrl = daemon.broker!.url;
  const clients: MqttClient[] = [];
  return {
    daemon,
    stateDir,
    logs,
    brokerUrl,
    async connect(role, clientId, opts = {}) {
      const c = noDelay(
        mqtt.connect(brokerUrl, { clientId, username: role, password: daemon.credentials.password(role, clientId), reconnectPeriod: 0, ...opts }),
      );
      clients.push(c);
      await new Promise<void>((resolve, reject) => {
        c.once('connect', () => resolve());
        c.once('error', reject);
      });
      return c;
    },
    async stop() {
      for (const c of clients) c.end(true);
      await daemon.stop();
    },
  };
}

export { until } from './wait.js';
