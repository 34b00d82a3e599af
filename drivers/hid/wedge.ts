/**
 * USB HID keyboard-wedge scanner read from its evdev node
 * (/dev/input/by-id/usb-...-event-kbd): input_event records -> US-layout
 * text -> the same barcode decoding as the serial scanner. No exclusive grab
 * (EVIOCGRAB needs an ioctl no maintained dependency offers): see
 * drivers/README.md for what that means and how to switch the scanner to USB-CDC.
 */
import type { Readable } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import type { DeviceStatus, Driver, DriverContext } from '../driver.js';
import type { DriverEnv } from '../env.js';
import { BarcodePublisher, DecodeFields, type BarcodeCounters } from '../barcode-publisher.js';
import { Publisher } from '../publish.js';
import { StatusKeeper } from '../status.js';
import type { TimerHandle } from '../timers.js';
import { InputEventDecoder } from './input-event.js';
import { KeyDecoder, type KeyFrame } from './keys.js';

export const HidWedgeSchema = Type.Object(
  {
    kind: Type.Literal('hid-wedge'),
    simulate: Type.Boolean({ default: false }),
    /** Prefer /dev/input/by-id/usb-<vendor>_<model>-event-kbd: stable across replugging. */
    path: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
    /** input_event size: 24 on 64-bit kernels, 16 on 32-bit; default from this process's architecture. */
    recordSize: Type.Optional(Type.Union([Type.Literal(16), Type.Literal(24)])),
    terminator: Type.Union([Type.Literal('enter'), Type.Literal('tab')], { default: 'enter' }),
    maxLength: Type.Integer({ minimum: 8, maximum: 4096, default: 512 }),
    presencePollMs: Type.Integer({ minimum: 50, maximum: 5000, default: 500 }),
    ...DecodeFields,
  },
  { additionalProperties: false },
);
export type HidWedgeConfig = Static<typeof HidWedgeSchema>;

export class HidWedgeScanner implements Driver {
  readonly kind = 'hid-wedge';
  readonly name: string;
  private readonly keeper: StatusKeeper;
  private readonly pub: Publisher;
  private readonly barcodes: BarcodePublisher;
  private records?: InputEventDecoder;
  private keys?: KeyDecoder;
  private stream?: Readable;
  private timer?: TimerHandle;
  private running = false;

  constructor(
    private readonly ctx: DriverContext<HidWedgeConfig>,
    private readonly env: DriverEnv,
  ) {
    this.name = ctx.name;
    this.keeper = new StatusKeeper(ctx, this.kind, env.simulated);
    this.pub = new Publisher(ctx, ctx.log);
    this.barcodes = new BarcodePublisher(ctx, env, this.pub, this.keeper);
  }

  private get path(): string {
    return this.ctx.config.path ?? `/dev/input/by-id/sim-${this.name}-event-kbd`;
  }

  async start(): Promise<void> {
    this.keeper.set('starting');
    this.running = true;
    void this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.env.timers.clearTimeout(this.timer);
    const s = this.stream;
    this.stream = undefined;
    s?.removeAllListeners();
    s?.on('error', () => undefined);
    s?.destroy();
    this.keeper.set('stopped');
    await this.pub.idle();
  }

  status(): DeviceStatus {
    return this.keeper.get();
  }

  counters(): BarcodeCounters {
    return this.barcodes.counters();
  }

  private retry(detail: string): void {
    this.keeper.set('disconnected', detail);
    this.env.timers.clearTimeout(this.timer);
    this.timer = this.env.timers.setTimeout(() => void this.connect(), this.ctx.config.presencePollMs);
  }

  private async connect(): Promise<void> {
    this.timer = undefined;
    if (!this.running) return;
    const path = this.path;
    if (!(await this.env.hid.exists(path))) return this.retry(`${path} not present (plugged in? by-id path right?)`);
    let stream: Readable;
    try {
      stream = await this.env.hid.open(path);
    } catch (err) {
      return this.retry(`cannot open ${path}: ${(err as Error).message} (user in group "input"?)`);
    }
    if (!this.running) {
      stream.destroy();
      return;
    }
    this.records = new InputEventDecoder(this.ctx.config.recordSize ?? undefined);
    this.keys = new KeyDecoder({ terminator: this.ctx.config.terminator, maxLength: this.ctx.config.maxLength });
    this.stream = stream;
    const gone = (why: string) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.keys?.flush().forEach((f) => this.frame(f));
      if (this.running) this.retry(`${path} ${why}`);
    };
    stream.on('data', (chunk: Buffer) => {
      if (this.stream !== stream || !this.records || !this.keys) return;
      this.keys.push(this.records.push(chunk)).forEach((f) => this.frame(f));
    });
    stream.on('error', (err: Error) => gone(`read failed: ${err.message} (unplugged?)`));
    stream.on('end', () => gone('closed'));
    stream.on('close', () => gone('closed'));
    this.keeper.set('ok');
  }

  private frame(f: KeyFrame): void {
    if (f.kind === 'reject') this.barcodes.reject(f.text, f.reason);
    else this.barcodes.text(f.text);
  }
}
