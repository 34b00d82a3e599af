import t from 'tap';
import mqtt from 'mqtt';
import { startLane } from '../helpers/lane.js';

// At a stop the screens get a close frame 1001 "going away" and answer it; only then is
// their TCP connection closed, so the browser reports a clean close. Documents published
// meanwhile are still on their way to the screen: a write after the close frame must not
// cut the connection before the screen's answer (a cut connection is a close 1006 here,
// and `wasClean: false` in the browser).

t.test('documents published while the screens are told to go away: every screen answers the close', async (t) => {
  const lane = await startLane({});
  t.teardown(() => lane.stop());
  const port = lane.daemon.http!.port;
  const session = (await (await fetch(`http://127.0.0.1:${port}/ui/session`)).json()) as { path: string; password: string; clientId: string };
  const screen = mqtt.connect(`ws://127.0.0.1:${port}${session.path}`, {
    clientId: session.clientId,
    username: 'ui',
    password: session.password,
    reconnectPeriod: 0,
  });
  t.teardown(() => screen.end(true));
  await new Promise<void>((resolve, reject) => {
    screen.once('connect', () => resolve());
    screen.once('error', reject);
  });
  await screen.subscribeAsync('doc/flood', { qos: 0 });
  const service = await lane.connect('service', 'laned-flood');
  let received = 0;
  screen.on('message', () => received++);

  // a bounded stream of documents, one per turn of the event loop, across the close
  let stop = false;
  const flood = (async () => {
    for (let i = 0; i < 2000 && !stop; i++) {
      service.publish('doc/flood', JSON.stringify({ i }), { qos: 0 });
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  await new Promise<void>((resolve) => {
    const check = (): void => void (received >= 20 ? resolve() : setTimeout(check, 5));
    check();
  });
  const closes = await lane.daemon.broker!.closeWebSockets(5000);
  stop = true;
  await flood;
  t.same(closes, { answered: 1, cutOff: 0 }, 'the screen answered the close frame; none was cut off');
});
