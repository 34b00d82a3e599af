/**
 * The simulated serial scanner: a SimSerialBus port plus what the scanner's
 * firmware would send when a code is read (its configured prefix, the code,
 * its suffix), and an optional script of scans so a fresh simulated lane shows
 * BarcodeScanned events without anyone typing.
 */
import type { SerialScannerConfig } from '../serial/scanner.js';
import { bytesFromConfig } from '../serial/framer.js';
import type { TimerHandle, Timers } from '../timers.js';
import type { Logger } from '../log.js';
import type { SimSerialBus } from './serial.js';
import { unescapeCode } from './env.js';

export class ScannerTwin {
  private timer?: TimerHandle;
  private step = 0;

  constructor(
    private readonly bus: SimSerialBus,
    readonly path: string,
    private readonly config: Pick<SerialScannerConfig, 'prefix' | 'suffix' | 'script' | 'loop'>,
    private readonly timers: Timers,
    private readonly log: Logger,
  ) {}

  frame(code: string): Buffer {
    const prefix = this.config.prefix ? bytesFromConfig(this.config.prefix) : Buffer.alloc(0);
    return Buffer.concat([prefix, Buffer.from(unescapeCode(code), 'latin1'), bytesFromConfig(this.config.suffix)]);
  }

  scan(code: string): void {
    this.bus.send(this.path, this.frame(code));
  }

  /** Run the configured script, if any. */
  startScript(): void {
    const script = this.config.script;
    if (!script?.length || this.timer) return;
    const next = () => {
      if (this.step >= script.length) {
        if (!this.config.loop) return;
        this.step = 0;
      }
      const entry = script[this.step];
      this.timer = this.timers.setTimeout(
        () => {
          this.step++;
          try {
            this.scan(entry.code);
          } catch (err) {
            this.log.debug({ err, code: entry.code }, 'scripted scan not sent (port closed)');
          }
          next();
        },
        Math.max(entry.after_ms, this.config.loop && script.every((s) => s.after_ms === 0) ? 1000 : 0),
      );
    };
    next();
  }

  stopScript(): void {
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
