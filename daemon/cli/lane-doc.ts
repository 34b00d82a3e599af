import { userInfo } from 'node:os';
import type { MqttClient } from 'mqtt';

/** What the attendant service keeps retained on doc/lane (what the attendant's screen shows). */
export interface LaneDoc {
  state: string;
  txn: string | null;
  interventions: Array<{ id: string; txn?: string; kind: string; reason: string; blocking: boolean; raised: string }>;
}

/** The retained doc/lane; undefined when none comes within `timeoutMs` (the attendant service is not running). */
export function laneDoc(c: MqttClient, timeoutMs: number): Promise<LaneDoc | undefined> {
  return retainedDoc<LaneDoc>(c, 'lane', timeoutMs);
}

/** A retained `doc/<name>`; undefined when none comes within `timeoutMs` (its service is not running) or it is not JSON. */
export function retainedDoc<T>(c: MqttClient, name: string, timeoutMs: number): Promise<T | undefined> {
  const topic = `doc/${name}`;
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const onMessage = (t: string, payload: Buffer): void => {
      if (t !== topic) return;
      try {
        done(JSON.parse(payload.toString('utf8')) as T);
      } catch {
        done(undefined);
      }
    };
    const done = (d: T | undefined): void => {
      clearTimeout(timer);
      c.removeListener('message', onMessage);
      c.unsubscribe(topic);
      resolve(d);
    };
    c.on('message', onMessage);
    c.subscribe(topic, { qos: 1 });
  });
}

/** Who runs lanectl, for what the lane records (`by` of a command, at most 64 characters). */
export function technicianName(): string {
  let user = process.env.SUDO_USER ?? '';
  try {
    user ||= userInfo().username;
  } catch {
    // no passwd entry (a container): the role alone
  }
  return `technician${user ? ` ${user}` : ''}`.slice(0, 64);
}
