import t from 'tap';
import { realSerialEnv } from '../../../drivers/serial/link.js';

// serialport's platform bindings set parity through termios: none, even or odd (its LinuxOpenOptions).

t.test('the real binding is not asked to open a port with a parity it does not take', async (t) => {
  await t.rejects(
    realSerialEnv().binding.open({ path: '/dev/ttyLANED-none', baudRate: 9600, parity: 'mark' }),
    /\/dev\/ttyLANED-none: parity "mark" is not one of none, even, odd/,
  );
});
