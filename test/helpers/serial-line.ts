import type { SimSerialPort } from '../../drivers/sim/serial.js';
import type { VirtualClock } from '../../drivers/sim/virtual-clock.js';

/** Start a serial driver on its simulated port and stop it: the line settings it opened the port with. */
export async function openedLine(s: {
  driver: { start(): Promise<void>; stop(): Promise<void> };
  clock: VirtualClock;
  port: SimSerialPort;
}): Promise<SimSerialPort['line']> {
  await s.driver.start();
  await s.clock.advance(10);
  const line = s.port.line;
  await s.driver.stop();
  return line;
}
