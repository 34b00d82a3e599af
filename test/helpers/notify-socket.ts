import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';

/** One datagram the daemon sent to NOTIFY_SOCKET. */
export interface NotifyMessage {
  /** CLOCK_MONOTONIC ns when it arrived (same clock as process.hrtime.bigint()). */
  t: bigint;
  /** Sender pid from SCM_CREDENTIALS (the systemd-notify process). */
  pid: number;
  fields: Record<string, string>;
  raw: string;
}

export interface NotifyListener {
  path: string;
  messages: NotifyMessage[];
  /** Resolves with the first message (already received or later) that matches. */
  waitFor(pred: (m: NotifyMessage) => boolean, timeoutMs?: number, what?: string): Promise<NotifyMessage>;
  /**
   * Resolves once every datagram sent before the call is in `messages`: a marker
   * datagram of its own is queued behind them on the socket and read after them.
   */
  flush(): Promise<void>;
  close(): Promise<void>;
}

// What PID 1 does with the datagrams (sd_notify(3)): read KEY=VALUE lines, take the
// sender's credentials, and close any fd passed along (systemd-notify's BARRIER=1
// waits for exactly that close, sd_notify_barrier(3)).
const LISTENER = String.raw`
import json, os, socket, struct, sys, time, array
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
print("LISTENING", flush=True)
while True:
    data, anc, flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(struct.calcsize("3i")) + socket.CMSG_SPACE(16 * 4))
    t = time.monotonic_ns()
    pid = 0
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("3i", payload[:12])[0]
        elif level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
            for fd in fds:
                os.close(fd)
    print(json.dumps({"t": str(t), "pid": pid, "raw": data.decode("utf-8", "replace")}), flush=True)
`;

const SEND = String.raw`
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(sys.argv[2].encode(), sys.argv[1])
`;

/** A NOTIFY_SOCKET listener: a python3 AF_UNIX datagram socket, as PID 1 would have. */
export async function listenNotify(dir: string): Promise<NotifyListener> {
  const path = join(dir, 'notify.sock');
  const proc = spawn('python3', ['-c', LISTENER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: NotifyMessage[] = [];
  const waiters: Array<{ pred: (m: NotifyMessage) => boolean; resolve: (m: NotifyMessage) => void }> = [];
  let buf = '';
  let flushes = 0;
  let listening: () => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    listening = resolve;
    proc.once('exit', (code) => reject(new Error(`notify listener exited (${code}) before binding ${path}`)));
  });
  proc.stdout!.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line === 'LISTENING') {
        listening();
        continue;
      }
      const j = JSON.parse(line) as { t: string; pid: number; raw: string };
      const fields: Record<string, string> = {};
      for (const kv of j.raw.split('\n')) {
        const eq = kv.indexOf('=');
        if (eq > 0) fields[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
      const m: NotifyMessage = { t: BigInt(j.t), pid: j.pid, fields, raw: j.raw };
      messages.push(m);
      for (const w of [...waiters]) {
        if (w.pred(m)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    }
  });
  await ready;
  const listener: NotifyListener = {
    path,
    messages,
    waitFor(pred, timeoutMs = 20_000, what = 'a matching notify message') {
      const hit = messages.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${what} within ${timeoutMs} ms; got:\n${messages.map((m) => m.raw.replace(/\n/g, ' | ')).join('\n')}`)),
          timeoutMs,
        );
        waiters.push({
          pred,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
    async flush() {
      const mark = `X_LANED_TEST_FLUSH=${++flushes}`;
      await promisify(execFile)('python3', ['-c', SEND, path, mark]);
      await listener.waitFor((m) => m.raw === mark, 10_000, `the marker ${mark}`);
    },
    async close() {
      if (proc.exitCode !== null) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await gone;
    },
  };
  return listener;
}
