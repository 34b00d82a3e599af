/**
 * Proves a payload (image/payload.sh) on this machine with nothing but its own files:
 * every native addon is an ELF of the payload's CPU and loads in the payload's Node;
 * laned starts on the simulated lane and says READY; a scan through `lanectl sim scan`
 * reaches the retained doc/basket (seen by mosquitto_sub, a client laned did not write);
 * laned stops cleanly on SIGTERM. An arm64 payload on an x86 machine runs under
 * qemu-aarch64-static (Debian's qemu-user-static, libraries from libc6-arm64-cross).
 *
 *   npx tsx image/check-payload.ts [--payload DIR | --arch arm64|x64] [--keep]
 *
 * Prints what it saw and how long each step took (under emulation these are not a
 * Pi's timings); exits 0 when every step passed, 1 otherwise.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { arch as hostArch, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PayloadManifest {
  name: string;
  version: string;
  arch: 'arm64' | 'x64';
  node: { version: string; path: string; modules: number; napi: number };
  addons: Array<{ path: string; sha256: string }>;
}

export interface Step {
  what: string;
  ok: boolean;
  ms: number;
  detail: string;
}

/** `file`'s words for each payload CPU (file(1), magic/Magdir/elf). */
const ELF: Record<PayloadManifest['arch'], RegExp> = {
  arm64: /ELF 64-bit LSB .*ARM aarch64/,
  x64: /ELF 64-bit LSB .*x86-64/,
};

/** Where Debian's libc6-arm64-cross puts the aarch64 loader and libraries. */
const AARCH64_SYSROOT = '/usr/aarch64-linux-gnu';
const SCANNED = { code: '2100000000029', name: 'Butter, 250 g' };

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((res) =>
    execFile(cmd, args, { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 300_000, maxBuffer: 16 << 20 }, (err, out, errOut) =>
      res({
        code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0,
        out: String(out),
        err: String(errOut),
      }),
    ),
  );
}

/** The command line that runs the payload's node here: directly, or under qemu for another CPU. */
export function nodeCommand(payload: string, manifest: PayloadManifest): string[] {
  const node = join(payload, manifest.node.path);
  const host = hostArch() === 'arm64' ? 'arm64' : hostArch() === 'x64' ? 'x64' : hostArch();
  if (manifest.arch === host) return [node];
  if (manifest.arch === 'arm64') return ['qemu-aarch64-static', '-L', AARCH64_SYSROOT, node];
  throw new Error(`${payload}: an ${manifest.arch} payload cannot run on this ${host} machine`);
}

export function readManifest(payload: string): PayloadManifest {
  const file = join(payload, 'payload.json');
  if (!existsSync(file)) throw new Error(`${file} missing: is ${payload} a payload (npm run payload -- --arch …)?`);
  return JSON.parse(readFileSync(file, 'utf8')) as PayloadManifest;
}

/** Run every check; never throws for a failed step, returns them all. */
export async function checkPayload(payload: string, opts: { keep?: boolean; log?: (line: string) => void } = {}): Promise<Step[]> {
  const log = opts.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const manifest = readManifest(payload);
  const node = nodeCommand(payload, manifest);
  const steps: Step[] = [];
  const step = async (what: string, fn: () => Promise<string>): Promise<boolean> => {
    const t0 = performance.now();
    let ok = true;
    let detail: string;
    try {
      detail = await fn();
    } catch (err) {
      ok = false;
      detail = (err as Error).message;
    }
    const s = { what, ok, ms: Math.round(performance.now() - t0), detail };
    steps.push(s);
    log(`${ok ? 'ok  ' : 'FAIL'} ${what} (${(s.ms / 1000).toFixed(1)} s)${detail ? `: ${detail}` : ''}`);
    return ok;
  };
  log(`payload ${manifest.name}: Node ${manifest.node.version} (modules ${manifest.node.modules}, N-API ${manifest.node.napi}) via ${node.join(' ')}`);

  // one start of the payload's node says what it is, then dlopens every addon, each on its
  // own and reported on its own: under qemu a start of node takes seconds, a load milliseconds.
  // Line 1 is written before any addon loads (stdout to a pipe is synchronous), so a crash in
  // an addon's init still leaves it; line 2 is each addon's export count or error.
  let probed: Promise<{ code: number; err: string; runtime: string; each: Record<string, number | string> }> | undefined;
  const probe = () =>
    (probed ??= run(node[0]!, [
      ...node.slice(1),
      '-e',
      [
        'console.log(process.arch + " " + process.version + " modules " + process.versions.modules);',
        'const each = {};',
        'for (const f of process.argv.slice(1)) {',
        '  try { const m = { exports: {} }; process.dlopen(m, f); each[f] = Object.keys(m.exports).length; }',
        '  catch (err) { each[f] = String(err && err.message ? err.message : err); }',
        '}',
        'console.log(JSON.stringify(each));',
      ].join('\n'),
      ...manifest.addons.map((a) => join(payload, a.path)),
    ]).then((r) => {
      const [runtime = '', report = ''] = r.out.split('\n');
      let each: Record<string, number | string> = {};
      try {
        each = JSON.parse(report) as Record<string, number | string>;
      } catch {
        // node ended before its report (an addon's init crashed it): the addons' steps say so
      }
      return { code: r.code, err: r.err, runtime: runtime.trim(), each };
    }));

  await step(`runtime/node is ${manifest.arch} and runs here`, async () => {
    const f = await run('file', ['-b', join(payload, manifest.node.path)]);
    if (!ELF[manifest.arch].test(f.out)) throw new Error(`file says: ${f.out.trim()}`);
    const r = await probe();
    const want = `${manifest.arch} v${manifest.node.version} modules ${manifest.node.modules}`;
    if (r.runtime !== want) throw new Error(`it says "${r.runtime}${r.err.trim()}", not "${want}"`);
    return r.runtime;
  });

  for (const addon of manifest.addons) {
    await step(`addon ${addon.path} is ${manifest.arch} and loads`, async () => {
      const f = await run('file', ['-b', join(payload, addon.path)]);
      if (!ELF[manifest.arch].test(f.out)) throw new Error(`file says: ${f.out.trim()}`);
      const r = await probe();
      const got = r.each[join(payload, addon.path)];
      if (typeof got === 'string') throw new Error(`process.dlopen failed: ${got.split('\n').slice(0, 3).join(' ')}`);
      if (r.code !== 0 || !(Number(got) > 0)) throw new Error(`process.dlopen failed (exit ${r.code}): ${r.err.trim().split('\n').slice(0, 3).join(' ')}`);
      return `${f.out.split(',').slice(0, 2).join(',')}; ${got} exports`;
    });
  }

  const dir = mkdtempSync(join(tmpdir(), 'laned-payload-check-'));
  const stateDir = join(dir, 'state');
  const config = join(dir, 'laned.yaml');
  // ports 0: the kernel picks free ones; laned reports them in its ready line
  writeFileSync(config, 'broker: { port: 0 }\nhttp: { port: 0 }\n');
  const lanectl = (...args: string[]) =>
    run(node[0]!, [...node.slice(1), join(payload, 'dist/daemon/cli/lanectl.js'), '--state-dir', stateDir, ...args], { timeoutMs: 120_000 });
  const env = { ...process.env, MALLOC_ARENA_MAX: '2', UV_THREADPOOL_SIZE: '8', NODE_PATH: '' };
  const daemon: ChildProcess = spawn(
    node[0]!,
    [...node.slice(1), '--max-semi-space-size=2', join(payload, 'dist/daemon/main.js'), '--config', config, '--state-dir', stateDir],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
      cwd: dir,
    },
  );
  const lines: string[] = [];
  const exited = new Promise<number | string>((res) => daemon.on('exit', (code, signal) => res(code ?? signal ?? -1)));
  const waitLine = (re: RegExp, timeoutMs: number): Promise<string> =>
    new Promise((res, rej) => {
      let buf = '';
      const onData = (b: Buffer): void => {
        buf += b.toString();
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const l = buf.slice(0, i);
          buf = buf.slice(i + 1);
          lines.push(l);
          if (re.test(l)) {
            clearTimeout(timer);
            res(l);
          }
        }
      };
      const timer = setTimeout(
        () => rej(new Error(`no line matching ${re} within ${timeoutMs / 1000} s; last lines:\n${lines.slice(-10).join('\n')}`)),
        timeoutMs,
      );
      daemon.stdout!.on('data', onData);
      daemon.stderr!.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter(Boolean)));
      void exited.then((c) => {
        clearTimeout(timer);
        rej(new Error(`laned exited (${c}) before a line matching ${re}; last lines:\n${lines.slice(-10).join('\n')}`));
      });
    });
  let brokerPort = 0;
  try {
    const ready = await step('laned starts on the simulated lane and says READY', async () => {
      const line = await waitLine(/"msg":"laned ready in/, 600_000);
      const r = JSON.parse(line.replace(/^<\d>/, '')) as { broker?: string; msg: string };
      brokerPort = Number(new URL(r.broker ?? 'mqtt://x:0').port);
      return r.msg;
    });
    if (ready && daemon.pid !== undefined) {
      const pid = daemon.pid;
      await step("laned runs on the payload's files only", async () => {
        // /proc/<pid>/maps lists every file mapped (proc(5)); under qemu-user the guest's too
        const mapped = [
          ...new Set(
            readFileSync(`/proc/${pid}/maps`, 'utf8')
              .split('\n')
              .map((l) => l.split(/\s+/).slice(5).join(' '))
              .filter((f) => f.endsWith('.node')),
          ),
        ];
        const outside = mapped.filter((f) => !f.startsWith(`${realpathSync(payload)}/`));
        // the simulated lane loads sqlite3 at once; the device addons load with a real device
        if (mapped.length === 0) throw new Error(`no native addon mapped: is /proc/${pid}/maps readable?`);
        if (outside.length > 0) throw new Error(`addons from outside the payload: ${outside.join(', ')}`);
        if (node[0] !== 'qemu-aarch64-static') {
          const exe = realpathSync(`/proc/${pid}/exe`);
          if (exe !== realpathSync(join(payload, manifest.node.path))) throw new Error(`laned runs ${exe}, not the payload's ${manifest.node.path}`);
        }
        return `${mapped.map((f) => f.slice(realpathSync(payload).length + 1)).join(', ')} mapped from the payload`;
      });
      await step(`lanectl sim scan ${SCANNED.code} reaches doc/basket`, async () => {
        const creds = await lanectl('creds', 'technician');
        if (creds.code !== 0) throw new Error(`lanectl creds technician: exit ${creds.code} ${creds.err.trim()}`);
        const sub = spawn('mosquitto_sub', [
          '-h',
          '127.0.0.1',
          '-p',
          String(brokerPort),
          '-u',
          'technician',
          '-P',
          creds.out.trim(),
          '-t',
          'doc/basket',
          // the basket's lines are in its pages (doc/basket/lines/<k>); doc/basket is the summary
          '-t',
          'doc/basket/lines/+',
          '-W',
          '300',
        ]);
        try {
          let seen = '';
          const inBasket = new Promise<string>((res, rej) => {
            sub.stdout.on('data', (b: Buffer) => {
              seen += b.toString();
              const hit = seen.split('\n').find((l) => l.includes(SCANNED.name));
              if (hit) res(`doc/basket lists "${SCANNED.name}"`);
            });
            sub.on('exit', (c) =>
              rej(
                new Error(
                  `mosquitto_sub ended (${c}) before doc/basket listed "${SCANNED.name}"; last: ${seen.split('\n').filter(Boolean).pop() ?? 'nothing'}`,
                ),
              ),
            );
          });
          const scan = await lanectl('sim', 'scan', SCANNED.code);
          if (scan.code !== 0) throw new Error(`lanectl sim scan: exit ${scan.code} ${scan.err.trim()}`);
          return await inBasket;
        } finally {
          sub.kill();
        }
      });
    }
    await step('laned stops cleanly on SIGTERM (exit 0)', async () => {
      daemon.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`exit ${code}; last lines:\n${lines.slice(-5).join('\n')}`);
      return 'exit 0';
    });
  } finally {
    if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
  const total = steps.reduce((a, s) => a + s.ms, 0);
  log(
    `${steps.filter((s) => s.ok).length}/${steps.length} checks passed in ${(total / 1000).toFixed(1)} s${node[0] === 'qemu-aarch64-static' ? ' (under qemu-aarch64-static: emulation, not a Pi)' : ''}`,
  );
  return steps;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = (flag: string): string | undefined => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const payload = at('--payload') ?? join(root, 'build/payload', `laned-${version}-${at('--arch') ?? 'arm64'}`);
  checkPayload(payload, { keep: args.includes('--keep') }).then(
    (steps) => process.exit(steps.length > 0 && steps.every((s) => s.ok) ? 0 : 1),
    (err: Error) => {
      process.stderr.write(`check-payload: ${err.message}\n`);
      process.exit(1);
    },
  );
}
