/**
 * The simulated lowest layer of serial devices: serialport's own MockBinding
 * (@serialport/binding-mock, ports made with MockBinding.createPort), wrapped
 * only to add what a USB cable does and the mock does not: being pulled out
 * (in-flight reads fail with a `disconnected` error, as bindings-cpp reports
 * EIO/ENXIO on Linux, and the path disappears) and put back. A device model
 * may answer what the driver writes (scanner-scale and scale firmware twins).
 */
import { createRequire } from 'node:module';
import type { MockBindingInterface, MockPortBinding } from '@serialport/binding-mock' with { 'resolution-mode': 'require' };
import type { PortInfo, SerialBinding, SerialEnv } from '../serial/link.js';

/** A device's firmware, answering bytes written to it through `port.send`. */
export interface SimSerialDevice {
  onWrite?(bytes: Buffer, port: SimSerialPort): void;
  onOpen?(port: SimSerialPort): void;
}

export interface SimSerialPort {
  readonly path: string;
  /** Bytes the device sends to the host. Throws when the port is not open. */
  send(bytes: Buffer | string): void;
  readonly isOpen: boolean;
  /** The line settings the driver opened the port with (baud rate, data bits, parity, stop bits). */
  readonly line: { baudRate: number; dataBits: number; parity: string; stopBits: number } | undefined;
  /** Opens of this path so far, failed ones included. */
  readonly opens: number;
}

// The package's typings only resolve through its CommonJS entry under NodeNext. Loaded with the
// first simulated serial bus: a process without a simulated serial device never loads it.
let mockBinding: MockBindingInterface | undefined;
const loadMockBinding = (): MockBindingInterface =>
  (mockBinding ??= (createRequire(import.meta.url)('@serialport/binding-mock') as { MockBinding: MockBindingInterface }).MockBinding);
type MockPort = MockPortBinding;

const unpluggedError = (path: string) => Object.assign(new Error(`EIO: i/o error, read (${path} unplugged)`), { code: 'EIO', disconnected: true });

let lanes = 0;

class SimPortBinding {
  private rejectRead?: (err: Error) => void;
  unplugged = false;

  constructor(
    readonly inner: MockPort,
    private readonly onWrite: (bytes: Buffer) => void,
    private readonly path: string,
  ) {}

  get openOptions() {
    return this.inner.openOptions;
  }
  get isOpen(): boolean {
    return this.inner.isOpen;
  }

  pull(): void {
    this.unplugged = true;
    const reject = this.rejectRead;
    this.rejectRead = undefined;
    reject?.(unpluggedError(this.path));
  }

  emit(bytes: Buffer): void {
    if (this.unplugged || !this.inner.isOpen) throw new Error(`${this.path} is not open`);
    this.inner.emitData(bytes);
  }

  read(buffer: Buffer, offset: number, length: number) {
    if (this.unplugged) return Promise.reject(unpluggedError(this.path));
    return new Promise<{ buffer: Buffer; bytesRead: number }>((resolve, reject) => {
      this.rejectRead = reject;
      this.inner.read(buffer, offset, length).then(
        (r) => {
          this.rejectRead = undefined;
          resolve(r);
        },
        (e: Error) => {
          this.rejectRead = undefined;
          reject(e);
        },
      );
    });
  }

  async write(buffer: Buffer): Promise<void> {
    if (this.unplugged) throw unpluggedError(this.path);
    await this.inner.write(buffer);
    this.onWrite(Buffer.from(buffer));
  }

  close = () => this.inner.close();
  update = (o: Parameters<MockPort['update']>[0]) => this.inner.update(o);
  set = (o: Parameters<MockPort['set']>[0]) => this.inner.set(o);
  get = () => this.inner.get();
  getBaudRate = () => this.inner.getBaudRate();
  flush = () => this.inner.flush();
  drain = () => this.inner.drain();
}

interface Entry {
  path: string;
  internal: string;
  present: boolean;
  info: { vendorId?: string; productId?: string; serialNumber?: string };
  device?: SimSerialDevice;
  open?: SimPortBinding;
  handle: SimSerialPort;
  opens: number;
  /** The next opens that fail although the port is there, and with what. */
  failing: { times: number; code: string };
}

/** All simulated serial ports of one SimLane; its `env` is what serial drivers get instead of the real binding. */
export class SimSerialBus {
  private readonly id = ++lanes;
  private readonly ports = new Map<string, Entry>();

  readonly binding: SerialBinding = {
    list: async () => this.list(),
    open: async (options) => this.open(options),
  };

  readonly env: SerialEnv = {
    binding: this.binding,
    exists: async (path) => this.ports.get(path)?.present ?? false,
  };

  /** Create a port (plugged in) at `path`, optionally with a device model answering writes. */
  addPort(path: string, opts: { vendorId?: string; productId?: string; serialNumber?: string; device?: SimSerialDevice } = {}): SimSerialPort {
    const internal = `sim${this.id}:${path}`;
    const entry: Entry = {
      path,
      internal,
      present: true,
      info: { vendorId: opts.vendorId, productId: opts.productId, serialNumber: opts.serialNumber },
      device: opts.device,
      opens: 0,
      failing: { times: 0, code: '' },
      handle: {
        path,
        send: (bytes) => this.send(path, bytes),
        get isOpen() {
          return Boolean(entry.open && !entry.open.unplugged && entry.open.isOpen);
        },
        get line() {
          const o = entry.open?.openOptions;
          return o && { baudRate: o.baudRate, dataBits: o.dataBits, parity: o.parity, stopBits: o.stopBits };
        },
        get opens() {
          return entry.opens;
        },
      },
    };
    this.ports.set(path, entry);
    loadMockBinding().createPort(internal, { vendorId: opts.vendorId, productId: opts.productId });
    return entry.handle;
  }

  /** Pull the cable: an open port's pending read fails as disconnected and the path disappears. */
  unplug(path: string): void {
    const e = this.mustGet(path);
    e.present = false;
    e.open?.pull();
  }

  /** Put it back: a fresh port at the same path. */
  replug(path: string): void {
    const e = this.mustGet(path);
    if (e.present) return;
    e.present = true;
    e.open = undefined;
    loadMockBinding().createPort(e.internal, { vendorId: e.info.vendorId, productId: e.info.productId });
  }

  /**
   * The next `times` opens of a port that is there fail the way the kernel refuses
   * them: EACCES (no permission: user not in group dialout) or EBUSY (another
   * process holds it with TIOCEXCL).
   */
  failOpen(path: string, times: number, code: 'EACCES' | 'EBUSY' = 'EACCES'): void {
    this.mustGet(path).failing = { times, code };
  }

  send(path: string, bytes: Buffer | string): void {
    const e = this.mustGet(path);
    if (!e.present) throw new Error(`${path} is unplugged`);
    if (!e.open || !e.open.isOpen) throw new Error(`${path} is not open (driver not started or still reconnecting)`);
    e.open.emit(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  private mustGet(path: string): Entry {
    const e = this.ports.get(path);
    if (!e) throw new Error(`no simulated serial port ${path}`);
    return e;
  }

  private list(): PortInfo[] {
    return [...this.ports.values()]
      .filter((e) => e.present)
      .map((e) => ({
        path: e.path,
        manufacturer: 'laned simulated lane',
        serialNumber: e.info.serialNumber,
        pnpId: undefined,
        locationId: undefined,
        vendorId: e.info.vendorId,
        productId: e.info.productId,
      }));
  }

  private async open(options: Parameters<SerialBinding['open']>[0]): Promise<SimPortBinding> {
    const e = this.ports.get(options.path);
    if (e) e.opens++;
    if (!e || !e.present) {
      await new Promise<void>((r) => process.nextTick(r));
      throw Object.assign(new Error(`ENOENT: no such file or directory, open '${options.path}'`), { code: 'ENOENT' });
    }
    if (e.failing.times > 0) {
      e.failing.times--;
      await new Promise<void>((r) => process.nextTick(r));
      const what = e.failing.code === 'EBUSY' ? 'resource busy or locked' : 'permission denied';
      throw Object.assign(new Error(`${e.failing.code}: ${what}, open '${options.path}'`), { code: e.failing.code });
    }
    const inner = await loadMockBinding().open({ ...options, path: e.internal });
    const bound = new SimPortBinding(inner, (bytes) => e.device?.onWrite?.(bytes, e.handle), e.path);
    e.open = bound;
    e.device?.onOpen?.(e.handle);
    return bound;
  }
}
