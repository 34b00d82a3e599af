/**
 * One serial device's connection, shared by every serial driver: finds the
 * port (a /dev/serial/by-id path or a USB VID/PID match), opens it through an
 * injected serialport binding (the real one, or the mock one in simulation),
 * and reopens it after an unplug. the design "Devices".
 */
import { createRequire } from 'node:module';
import type { SerialPortStream } from '@serialport/stream';
import { Type } from '@sinclair/typebox';
import type { Logger } from '../log.js';
import type { TimerHandle, Timers } from '../timers.js';

/** serialport's BindingInterface, named through @serialport/stream (whose typings resolve under NodeNext). */
export type SerialBinding = ConstructorParameters<typeof SerialPortStream>[0]['binding'];
export type PortInfo = Awaited<ReturnType<SerialBinding['list']>>[number];
export type BindingPort = Awaited<ReturnType<SerialBinding['open']>>;
type BindingOpenOptions = Parameters<SerialBinding['open']>[0];

export interface SerialEnv {
  binding: SerialBinding;
  /** Whether a device node exists (a by-id symlink appears when the device is plugged in). */
  exists(path: string): Promise<boolean>;
}

/** The port part of every serial device's config. */
export const SerialPortFields = {
  /** Prefer /dev/serial/by-id/...: it survives replugging into another USB socket. */
  path: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
  vendorId: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{4}$' })),
  productId: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{4}$' })),
  serialNumber: Type.Optional(Type.String({ maxLength: 100 })),
  reconnectMaxMs: Type.Integer({ minimum: 1000, maximum: 30000, default: 30000 }),
  presencePollMs: Type.Integer({ minimum: 50, maximum: 1000, default: 500 }),
};

export interface SerialPortConfig {
  path?: string;
  vendorId?: string;
  productId?: string;
  serialNumber?: string;
  baudRate: number;
  dataBits: 7 | 8;
  parity: 'none' | 'even' | 'odd';
  stopBits: 1 | 2;
  reconnectMaxMs: number;
  presencePollMs: number;
}

/** Problem with the port part of a config, for validateDeviceConfig. */
export function serialPortProblem(c: { path?: string; vendorId?: string; productId?: string }, simulated: boolean): string | undefined {
  if (simulated) return undefined;
  if (c.path) return undefined;
  if (c.vendorId && c.productId) return undefined;
  return 'needs "path" (e.g. /dev/serial/by-id/usb-...) or both "vendorId" and "productId" (hex, from lsusb)';
}

export interface LinkHandlers {
  onOpen(path: string): void;
  onData(chunk: Buffer): void;
  /** The port is gone or cannot be opened; `detail` names the path and what happened. */
  onDown(detail: string): void;
}

const FIRST_RETRY_MS = 500;

let serialStream: typeof import('@serialport/stream') | undefined;

/**
 * @serialport/stream, loaded (synchronously: it is CommonJS) when the first serial
 * port is opened, not when a driver module is imported: a process without a
 * serial device never loads the serial stack.
 */
function serialStack(): typeof import('@serialport/stream') {
  serialStream ??= createRequire(import.meta.url)('@serialport/stream') as typeof import('@serialport/stream');
  return serialStream;
}

export class SerialLink {
  private port?: SerialPortStream;
  private timer?: TimerHandle;
  private running = false;
  private failures = 0;

  constructor(
    private readonly cfg: SerialPortConfig,
    private readonly env: SerialEnv,
    private readonly timers: Timers,
    private readonly log: Logger,
    private readonly on: LinkHandlers,
  ) {}

  start(): void {
    this.running = true;
    void this.attempt();
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  /** Send bytes when the port is open; false when it is not (the caller decides what that means). */
  write(bytes: Buffer): boolean {
    const port = this.port;
    if (!port || !port.isOpen) return false;
    port.write(bytes);
    return true;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    port?.removeAllListeners('data');
  }

  describe(): string {
    if (this.cfg.path) return this.cfg.path;
    return `USB ${this.cfg.vendorId}:${this.cfg.productId}${this.cfg.serialNumber ? ` serial ${this.cfg.serialNumber}` : ''}`;
  }

  private schedule(ms: number): void {
    this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => void this.attempt(), ms);
  }

  private async locate(): Promise<string | undefined> {
    const c = this.cfg;
    if (c.path) return (await this.env.exists(c.path)) ? c.path : undefined;
    const ports: PortInfo[] = await this.env.binding.list();
    const want = (a?: string, b?: string) => !a || (b ?? '').toLowerCase() === a.toLowerCase();
    return ports.find((p) => want(c.vendorId, p.vendorId) && want(c.productId, p.productId) && want(c.serialNumber, p.serialNumber))?.path;
  }

  private async attempt(): Promise<void> {
    this.timer = undefined;
    if (!this.running) return;
    let path: string | undefined;
    try {
      path = await this.locate();
    } catch (err) {
      this.log.debug({ err }, 'listing serial ports failed');
      this.on.onDown(`cannot list serial ports to find ${this.describe()}: ${(err as Error).message}`);
      this.schedule(this.cfg.presencePollMs);
      return;
    }
    if (!this.running) return;
    if (!path) {
      // Absent: look again soon; finding it again costs nothing (the design: by-id symlinks come and go with the device).
      this.on.onDown(`${this.describe()} not present (plugged in? by-id path right?)`);
      this.schedule(this.cfg.presencePollMs);
      return;
    }
    const port = new (serialStack().SerialPortStream)({
      binding: this.env.binding,
      path,
      baudRate: this.cfg.baudRate,
      dataBits: this.cfg.dataBits,
      parity: this.cfg.parity,
      stopBits: this.cfg.stopBits,
      autoOpen: false,
    });
    port.on('error', (err: Error) => this.log.debug({ err, path }, 'serial port error'));
    port.open((err) => {
      if (!this.running) {
        if (!err) port.close();
        return;
      }
      if (err) {
        // Present but not openable (permissions, locked by another process): back off, capped.
        this.failures++;
        const delay = Math.min(this.cfg.reconnectMaxMs, FIRST_RETRY_MS * 2 ** (this.failures - 1));
        this.log.debug({ err, path, retryInMs: delay }, 'serial port open failed');
        this.on.onDown(`cannot open ${path}: ${err.message}`);
        this.schedule(delay);
        return;
      }
      this.failures = 0;
      this.port = port;
      port.on('data', (chunk: Buffer) => {
        if (this.port === port) this.on.onData(chunk);
      });
      port.on('close', (closeErr?: Error & { disconnected?: boolean }) => {
        if (this.port !== port) return;
        this.port = undefined;
        if (!this.running) return;
        this.on.onDown(closeErr?.disconnected ? `${path} disconnected (unplugged?)` : `${path} closed`);
        this.schedule(this.cfg.presencePollMs);
      });
      this.on.onOpen(path);
    });
  }
}

const isParity = (p: string): p is 'none' | 'even' | 'odd' => p === 'none' || p === 'even' || p === 'odd';

/**
 * The real serialport binding, loaded on first use so a laptop running the
 * simulated lane never needs the native module.
 */
export function realSerialEnv(): SerialEnv {
  let loaded: Promise<typeof import('serialport').SerialPort.binding> | undefined;
  const load = () => (loaded ??= import('serialport').then((m) => m.SerialPort.binding));
  const binding: SerialBinding = {
    list: async () => (await load()).list(),
    open: async (options: BindingOpenOptions) => {
      // The platform bindings take only the parities termios knows (serialport's LinuxOpenOptions).
      const { parity } = options;
      if (parity !== undefined && !isParity(parity)) throw new Error(`${options.path}: parity "${parity}" is not one of none, even, odd`);
      return (await load()).open({ ...options, parity });
    },
  };
  return {
    binding,
    exists: async (path) => {
      const { access } = await import('node:fs/promises');
      return access(path).then(
        () => true,
        () => false,
      );
    },
  };
}

/** Line settings of a serial device's config, with the device's factory defaults. */
export function serialLineFields(d: { baudRate: number; dataBits: 7 | 8; parity: 'none' | 'even' | 'odd'; stopBits: 1 | 2 }) {
  return {
    baudRate: Type.Union(
      [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200].map((b) => Type.Literal(b)),
      { default: d.baudRate },
    ),
    dataBits: Type.Union([Type.Literal(7), Type.Literal(8)], { default: d.dataBits }),
    parity: Type.Union([Type.Literal('none'), Type.Literal('even'), Type.Literal('odd')], { default: d.parity }),
    stopBits: Type.Union([Type.Literal(1), Type.Literal(2)], { default: d.stopBits }),
  };
}
