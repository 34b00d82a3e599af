import { freePort } from './daemon.js';
export { freePort };
/**
 * A store's own broker for the uplink tests: a real Mosquitto (Debian's package)
 * on a free loopback port, TLS with a CA, server and client certificates made
 * here with the openssl CLI, a password file (mosquitto_passwd) and an ACL that
 * gives each lane its own prefix and store IT the whole `store/#` tree.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { guardChild } from './orphan-guard.js';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { tempDir } from './daemon.js';
import { until } from './lane.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';

export interface Pki {
  dir: string;
  ca: string;
  /** A CA that did not sign the server's certificate. */
  otherCa: string;
  clientCert: string;
  clientKey: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** CA, a server certificate for 127.0.0.1/localhost, a client certificate, and a second, unrelated CA. */
export function makePki(dir: string): Pki {
  for (const ca of ['ca', 'other-ca']) {
    openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=test ${ca}`,
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.crt`,
    ]);
  }
  const sign = (name: string, subj: string, ext: string): void => {
    openssl(dir, [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      subj,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    ]);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ]);
    chmodSync(join(dir, `${name}.key`), 0o600);
  };
  sign('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  sign('client', '/CN=lane-client', 'extendedKeyUsage=clientAuth\n');
  return { dir, ca: join(dir, 'ca.crt'), otherCa: join(dir, 'other-ca.crt'), clientCert: join(dir, 'client.crt'), clientKey: join(dir, 'client.key') };
}

export interface StoreBroker {
  port: number;
  url: string;
  pki: Pki;
  storeId: string;
  /** username -> password: each lane (its laneId), and `store-it`. */
  passwords: Record<string, string>;
  log: string[];
  start(): Promise<void>;
  /** SIGTERM: Mosquitto saves its sessions and queued messages before it exits. */
  stop(): Promise<void>;
  /** store IT's client (every lane's topics). */
  connect(clientId: string, opts?: mqtt.IClientOptions): Promise<MqttClient>;
}

/** A Mosquitto for `lanes` (laneIds) of store `storeId`; not started. */
export async function storeBroker(storeId: string, lanes: string[]): Promise<StoreBroker> {
  const dir = tempDir('store-broker-');
  const pki = makePki(dir);
  const port = await freePort();
  const passwords: Record<string, string> = { 'store-it': 'store-it-secret' };
  for (const lane of lanes) passwords[lane] = `${lane}-secret`;
  const pwFile = join(dir, 'passwd');
  writeFileSync(pwFile, '');
  for (const [user, pw] of Object.entries(passwords)) execFileSync('mosquitto_passwd', ['-b', pwFile, user, pw], { stdio: 'ignore' });
  chmodSync(pwFile, 0o600);
  // [mosquitto.conf(5) acl_file]: a lane reads and writes only under its own prefix
  const acl = [
    'user store-it',
    'topic readwrite store/#',
    ...lanes.flatMap((lane) => ['', `user ${lane}`, `topic readwrite store/${storeId}/lane/${lane}/#`]),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'acl'), acl);
  const conf = [
    'per_listener_settings false',
    'user root',
    'allow_anonymous false',
    `password_file ${pwFile}`,
    `acl_file ${join(dir, 'acl')}`,
    'persistence true',
    `persistence_location ${dir}/`,
    'autosave_interval 1',
    'max_queued_messages 0',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    `listener ${port} 127.0.0.1`,
    `cafile ${pki.ca}`,
    `certfile ${join(dir, 'server.crt')}`,
    `keyfile ${join(dir, 'server.key')}`,
    'require_certificate false',
    '',
  ].join('\n');
  const confFile = join(dir, 'mosquitto.conf');
  writeFileSync(confFile, conf);
  let proc: ChildProcess | undefined;
  const log: string[] = [];
  const url = `mqtts://127.0.0.1:${port}`;
  const b: StoreBroker = {
    port,
    url,
    pki,
    storeId,
    passwords,
    log,
    async start() {
      const from = log.length;
      const p = spawn(MOSQUITTO, ['-c', confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
      guardChild(p);
      proc = p;
      const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
      let failed = false;
      void exited.then(() => {
        failed = true;
      });
      for (const s of [p.stdout!, p.stderr!]) s.on('data', (c: Buffer) => log.push(...c.toString('utf8').split('\n').filter(Boolean)));
      await until(() => failed || log.slice(from).some((l) => l.includes(`listen socket on port ${port}`)), 15_000, `mosquitto listening on ${port}`);
      if (failed) throw new Error(`mosquitto did not start:\n${log.slice(-10).join('\n')}`);
      // the line comes before accept() is ready only by a hair: wait for a real session
      const probe = await b.connect(`probe-${Date.now()}`, { clean: true });
      probe.end(true);
    },
    async stop() {
      const p = proc;
      proc = undefined;
      if (!p || p.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
      p.kill('SIGTERM');
      await exited;
    },
    async connect(clientId, opts = {}) {
      const c = mqtt.connect(url, {
        clientId,
        username: 'store-it',
        password: passwords['store-it'],
        ca: readFileSync(pki.ca),
        rejectUnauthorized: true,
        reconnectPeriod: 200,
        connectTimeout: 5000,
        ...opts,
      });
      await new Promise<void>((resolve, reject) => {
        const failed = (err: Error): void => {
          c.end(true);
          reject(err);
        };
        c.once('error', failed);
        c.once('connect', () => {
          // from here on it reconnects by itself across restarts of the broker
          c.removeListener('error', failed);
          resolve();
        });
      });
      return c;
    },
  };
  return b;
}

/** The uplink config of lane `laneId` against `b` (its own username and password file, mode 0600). */
export function uplinkConfig(b: StoreBroker, laneId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const pwFile = join(b.pki.dir, `${laneId}.password`);
  writeFileSync(pwFile, `${b.passwords[laneId]}\n`, { mode: 0o600 });
  return { url: b.url, username: laneId, passwordFile: pwFile, ca: b.pki.ca, maxBackoffMs: 1000, ...extra };
}
