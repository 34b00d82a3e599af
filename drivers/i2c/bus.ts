/**
 * What the NAU7802 driver needs of an I2C bus: the subset of i2c-bus 5's
 * PromisifiedBus it calls, so the real bus and drivers/sim/fake-i2c.ts are
 * interchangeable.
 */
export interface I2cBus {
  readByte(address: number, command: number): Promise<number>;
  writeByte(address: number, command: number, byte: number): Promise<void>;
  readI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }>;
  close(): Promise<void>;
}

export interface I2cEnv {
  /** Open /dev/i2c-<bus>. */
  open(bus: number): Promise<I2cBus>;
}

/** i2c-bus, loaded on first use (native module; absent on a laptop running the simulated lane). */
export const realI2cEnv: I2cEnv = {
  open: async (bus) => {
    const i2c = await import('i2c-bus');
    return i2c.openPromisified(bus);
  },
};

/**
 * Errors worth retrying on the same bus: a NAK (EREMOTEIO, "Remote I/O error"
 * from the i2c-bcm2835 driver), a bus timeout, arbitration loss.
 */
export function isTransientI2cError(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code;
  return code === 'EREMOTEIO' || code === 'ETIMEDOUT' || code === 'EAGAIN' || code === 'EIO';
}
