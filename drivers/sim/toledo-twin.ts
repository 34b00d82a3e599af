/**
 * The simulated Mettler Toledo 8217 scale's firmware: answers W with the
 * platter weight (kg, 3 decimals, N when a tare is set) or a status byte
 * (motion after every change, over capacity, under zero), and Z / T / C with a
 * status byte, as §6.1.3.2 of the DIVA Service Manual describes.
 */
import { PlatterTwin } from './platter-twin.js';
import type { SimSerialDevice, SimSerialPort } from './serial.js';

export class ToledoTwin extends PlatterTwin implements SimSerialDevice {
  private zeroOffset = 0;
  private tare = 0;
  private rx = '';
  /** Z captures zero only within this much of the last zero. */
  zeroCaptureG = 300;

  private statusByte(): number {
    const gross = this.platter - this.zeroOffset;
    const net = gross - this.tare;
    let b = 0x40;
    if (this.moving) b |= 0x01;
    if (gross > this.capacityG) b |= 0x02;
    if (net < 0) b |= 0x04;
    if (Math.abs(gross) > this.zeroCaptureG) b |= 0x08;
    if (Math.abs(gross) < 1) b |= 0x10;
    if (this.tare) b |= 0x20;
    return b;
  }

  private send(port: SimSerialPort, body: Buffer | string): void {
    port.send(Buffer.concat([Buffer.from([0x02]), Buffer.from(body as string, 'latin1'), Buffer.from([0x0d])]));
  }

  private status(port: SimSerialPort): void {
    this.send(port, Buffer.from([0x3f, this.statusByte()]).toString('latin1'));
  }

  onWrite(bytes: Buffer, port: SimSerialPort): void {
    this.rx += bytes.toString('latin1');
    while (this.rx.length > 0) {
      const c = this.rx[0];
      this.rx = this.rx.slice(1);
      if (this.mute) continue;
      const gross = this.platter - this.zeroOffset;
      const net = gross - this.tare;
      if (c === 'W') {
        const b = this.statusByte();
        if (b & 0x07) this.status(port);
        else if (this.unit === 'kg') this.send(port, `${(net / 1000).toFixed(3).padStart(6, '0')}${this.tare ? 'N' : ''}`);
        else this.send(port, `${(net / 453.59237).toFixed(2).padStart(5, '0')}${this.tare ? 'N' : ''}`);
      } else if (c === 'Z') {
        if (!this.moving && !this.tare && Math.abs(gross) <= this.zeroCaptureG) this.zeroOffset = this.platter;
        this.status(port);
      } else if (c === 'T') {
        if (!this.moving && gross > 0) this.tare = gross;
        this.status(port);
      } else if (c === 'C') {
        if (!this.moving) this.tare = 0;
        this.status(port);
      }
    }
  }
}
