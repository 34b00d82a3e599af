import t from 'tap';
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import WebSocket from 'ws';
import { PacketGuard, MAX_CONNECT_BYTES } from '../../broker/packet-guard.js';
import { startDaemon, tempDir, writeConfig, type RunningDaemon } from '../helpers/daemon.js';

// A client that declares a huge packet before any authentication must cost the broker
// nothing: the packet is refused from its fixed header [MQTT-2.2], not buffered.

/** A CONNECT fixed header declaring a Remaining Length of 268,435,455 bytes (0xFF 0xFF 0xFF 0x7F, the largest [MQTT-2.2.3] allows). */
const HUGE_CONNECT = Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]);
/** How much junk the attacker writes behind the header at most, in 64 KiB pieces. */
const ATTACK_BYTES = 48 * 1024 * 1024;
const PIECE = Buffer.alloc(64 * 1024, 0x41);
const MB = 1024 * 1024;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

interface Attack {
  /** Bytes the attacker got written before the broker closed the connection. */
  written: number;
  closedByBroker: boolean;
}

/** Over TCP: the header, then junk until the broker closes or ATTACK_BYTES are out. */
function attackTcp(port: number): Promise<Attack> {
  return new Promise((resolve) => {
    const sock = createConnection(port, '127.0.0.1');
    let written = 0;
    let closed = false;
    sock.on('error', () => undefined);
    sock.on('close', () => {
      closed = true;
      resolve({ written, closedByBroker: written < ATTACK_BYTES });
    });
    sock.on('connect', () => {
      sock.write(HUGE_CONNECT);
      const pump = (): void => {
        while (!closed && written < ATTACK_BYTES) {
          written += PIECE.length;
          if (!sock.write(PIECE)) return void sock.once('drain', pump);
        }
        // all sent and the broker still holds the connection open: give it up
        if (!closed) sock.end(() => sock.destroy());
      };
      pump();
    });
  });
}

/** Over WebSocket /mqtt: the same bytes as binary frames. */
function attackWs(port: number): Promise<Attack> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, 'mqtt');
    let written = 0;
    let closed = false;
    ws.on('error', () => undefined);
    ws.on('close', () => {
      closed = true;
      resolve({ written, closedByBroker: written < ATTACK_BYTES });
    });
    ws.on('open', () => {
      ws.send(HUGE_CONNECT);
      const pump = (): void => {
        // ws buffers what the socket has not taken: keep at most 1 MiB of it
        while (!closed && written < ATTACK_BYTES && ws.bufferedAmount < MB) {
          written += PIECE.length;
          ws.send(PIECE);
        }
        if (closed) return;
        if (written < ATTACK_BYTES) return void setTimeout(pump, 1);
        ws.close();
      };
      pump();
    });
  });
}

t.test('the packet guard reads fixed headers as they pass', async (t) => {
  const limits = { connectBytes: 100, packetBytes: 1000 };
  const g = new PacketGuard(limits);
  // a CONNECT of 50 bytes in two pieces, then a PUBLISH header split inside its Remaining Length
  t.equal(g.check(Buffer.concat([Buffer.from([0x10, 50]), Buffer.alloc(20)])), undefined);
  t.equal(g.check(Buffer.alloc(30)), undefined, 'CONNECT body passes');
  t.equal(g.check(Buffer.from([0x32, 0xe8])), undefined, 'half a Remaining Length');
  t.equal(g.check(Buffer.from([0x07])), undefined, '0x07E8 = 1000 bytes: at the limit');
  t.equal(g.check(Buffer.alloc(1000)), undefined);
  t.equal(g.check(Buffer.from([0xc0, 0x00])), undefined, 'PINGREQ, no body');
  t.match(g.check(Buffer.from([0x32, 0xe9, 0x07])), { reason: 'payload-size', message: /a PUBLISH of 1001 bytes declared, over the limit of 1000/ });
  const h = new PacketGuard(limits);
  h.check(Buffer.from([0x10, 0x00]));
  t.match(h.check(Buffer.from([0x82, 0xe9, 0x07])), { reason: 'packet-size', message: /a packet of 1001 bytes/ }, 'a SUBSCRIBE over it');

  t.match(new PacketGuard(limits).check(HUGE_CONNECT), { reason: 'packet-size', message: /a CONNECT of 268435455 bytes/ }, 'the attack header alone');
  t.match(new PacketGuard(limits).check(Buffer.from([0x30, 0x01, 0x00])), { reason: 'first-packet' }, 'a PUBLISH before CONNECT [MQTT-3.1.0-1]');
  t.match(new PacketGuard(limits).check(Buffer.from([0x10, 0x80, 0x80, 0x80, 0x80, 0x01])), { reason: 'malformed-length' }, 'five length bytes');
  t.ok(MAX_CONNECT_BYTES >= 1024 && MAX_CONNECT_BYTES <= 65536, 'a CONNECT limit of a few KiB');
});

t.test('a 256 MB CONNECT header over TCP and over WebSocket is refused before authentication, without buffering', async (t) => {
  const stateDir = tempDir();
  const d: RunningDaemon = await startDaemon({ stateDir, configFile: writeConfig(stateDir, { devices: {} }) });
  t.teardown(() => d.kill());
  const httpPort = Number(new URL(d.httpUrl).port);
  // the daemon's RSS settles after its start (JIT, first GCs): take the lowest of a few readings as the baseline
  const baseline = async (): Promise<number> => {
    let low = Infinity;
    for (let i = 0; i < 5; i++) {
      low = Math.min(low, rssOf(d.proc.pid!));
      await new Promise((r) => setTimeout(r, 100));
    }
    return low;
  };

  for (const [listener, attack] of [
    ['TCP', () => attackTcp(d.brokerPort)],
    ['WebSocket', () => attackWs(httpPort)],
  ] as const) {
    await t.test(listener, async (t) => {
      const before = await baseline();
      const runs = await Promise.all([attack(), attack(), attack(), attack()]);
      for (const r of runs) {
        t.ok(r.closedByBroker, `the broker closed the connection (${(r.written / MB).toFixed(1)} MiB written)`);
        t.ok(r.written <= 8 * MB, `closed at once: ${(r.written / MB).toFixed(1)} MiB got written, not the ${ATTACK_BYTES / MB} MiB offered`);
      }
      const grew = rssOf(d.proc.pid!) - before;
      t.comment(`${listener}: daemon RSS ${(before / MB).toFixed(1)} MiB before, grew ${(grew / MB).toFixed(2)} MiB over 4 connections`);
      t.ok(grew < 5 * MB, `RSS grew ${(grew / MB).toFixed(2)} MiB (< 5 MiB)`);
      await d.waitFor(/closed connection from 127\.0\.0\.1:\d+ before reading on: a CONNECT of 268435455 bytes declared/);
    });
  }
  const metrics = await (await fetch(`${d.httpUrl}/metrics`)).text();
  const refused = /laned_broker_refused_total\{reason="packet-size"\} (\d+)/.exec(metrics);
  t.equal(Number(refused?.[1]), 8, 'every refusal counted in /metrics');
  t.equal((await fetch(`${d.httpUrl}/healthz`)).status, 200, 'the lane still answers');
});
