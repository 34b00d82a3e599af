/**
 * One GPIO line as the GPIO drivers use it. The real implementation is onoff 6
 * (which always works under /sys/class/gpio); the simulated one,
 * drivers/sim/fake-sysfs.ts SysfsFileLine, does the same sysfs file operations
 * under a temp folder. Debounce, blink patterns and BCM resolution live above
 * this seam, so the simulated lane runs them for real.
 */
export type LineDirection = 'in' | 'out';
export type LineEdge = 'none' | 'rising' | 'falling' | 'both';

export interface GpioLine {
  read(): Promise<0 | 1>;
  write(value: 0 | 1): Promise<void>;
  /** Called on every edge with the new level (kernel edge interrupt, poll(2) on the value file). */
  watch(onChange: (err: Error | null | undefined, value: 0 | 1) => void): void;
  /** Stop watching and unexport. */
  close(): void;
}

export interface GpioLineRequest {
  /** sysfs GPIO number (chip base + offset), not the BCM number. */
  sysfs: number;
  direction: LineDirection;
  edge: LineEdge;
}

export interface GpioEnv {
  /** Where gpiochip*\/label and base are read from; /sys/class/gpio on a board. */
  sysfsRoot: string;
  open(req: GpioLineRequest): Promise<GpioLine>;
}

/** onoff, loaded on first use (it loads the native epoll module). */
export const realGpioEnv: GpioEnv = {
  sysfsRoot: '/sys/class/gpio',
  open: async (req) => {
    const { Gpio } = await import('onoff');
    const g = new Gpio(req.sysfs, req.direction, req.direction === 'in' ? req.edge : undefined);
    return {
      read: () => g.read(),
      write: (v) => g.write(v),
      watch: (cb) => g.watch(cb),
      close: () => {
        g.unwatchAll();
        g.unexport();
      },
    };
  },
};
