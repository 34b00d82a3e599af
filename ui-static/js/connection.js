// The UI's link to the lane: MQTT over WebSocket as the `ui` role.
//
// Two connections share one session token from GET /ui/session:
//  - "docs" subscribes to the retained documents (doc/#) and service states
//    (svc/+/state); every reconnect resubscribes and so resyncs from them.
//  - "cmd" publishes commands and receives their replies.
// Replies and documents come from the same service clients. Aedes forwards a
// packet to a subscriber only if its broker counter is above the last one it
// forwarded to that subscriber (lib/client.js dedupe), and a retained PUBLISH
// waits for its store while a later reply does not: on one connection a reply
// that overtakes a doc/basket update would make the broker drop the update.
// Kept apart, each connection only sees packets that stay in order.

import mqtt from '/vendor/mqtt.js';
import { cmd, doc, parseTopic, replyPrefix, svcState, ANY } from '/js/topics.js';

const BACKOFF_MS = [250, 500, 1000, 2000, 3000];
const COMMAND_TIMEOUT_MS = 10_000;

function newId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

export class CommandFailed extends Error {
  constructor(code, message) {
    super(message);
    this.code = code; // 'offline' | 'timeout' | 'refused'
  }
}

/**
 * Events: 'status' {online}, 'doc' {name, doc}, 'svc' {name, state}.
 * Starts connecting on start(); reconnects forever with backoff.
 */
export class LaneLink extends EventTarget {
  constructor({ sessionUrl = '/ui/session' } = {}) {
    super();
    this.sessionUrl = sessionUrl;
    this.docs = undefined;
    this.cmd = undefined;
    this.online = false;
    this.attempt = 0;
    this.pending = new Map();
    this.timer = undefined;
    this.generation = 0;
  }

  start() {
    void this.connect();
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setOnline(online) {
    if (this.online === online) return;
    this.online = online;
    this.emit('status', { online });
  }

  async connect() {
    const gen = ++this.generation;
    let session;
    try {
      const res = await fetch(this.sessionUrl, { cache: 'no-store' });
      if (!res.ok) throw new Error(`session: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
      session = await res.json();
    } catch (err) {
      console.warn('laned UI: no session', err.message);
      return this.retry(gen);
    }
    if (gen !== this.generation) return;
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${session.path}`;
    const options = (clientId) => ({
      clientId,
      username: session.username,
      password: session.password,
      clean: true,
      protocolVersion: 4,
      keepalive: 10,
      connectTimeout: 5000,
      reconnectPeriod: 0,
    });
    const cmdId = `${session.clientId}-cmd`;
    const docs = mqtt.connect(url, options(session.clientId));
    const cmd = mqtt.connect(url, options(cmdId));
    this.docs = docs;
    this.cmd = cmd;
    this.replyPrefix = replyPrefix(cmdId);
    let lost = false;
    const lose = (why) => {
      if (lost || gen !== this.generation) return;
      lost = true;
      console.warn('laned UI: connection lost', why);
      this.teardown();
      this.retry(gen);
    };
    for (const c of [docs, cmd]) {
      c.on('close', () => lose('close'));
      c.on('error', (err) => lose(err.message));
      c.on('offline', () => lose('offline'));
    }
    docs.on('message', (topic, payload) => this.onDoc(topic, payload));
    cmd.on('message', (topic, payload) => this.onReply(topic, payload));
    const subscribed = (c, filters) =>
      new Promise((resolve, reject) => {
        c.once('connect', () =>
          c.subscribe(filters, { qos: 1 }, (err, granted) => {
            if (err) return reject(err);
            const refused = (granted ?? []).filter((g) => g.qos === 128);
            if (refused.length) return reject(new Error(`subscription refused: ${refused.map((g) => g.topic).join(', ')}`));
            resolve();
          }),
        );
      });
    try {
      await Promise.all([subscribed(cmd, [`${this.replyPrefix}#`]), subscribed(docs, [doc('#'), svcState(ANY)])]);
    } catch (err) {
      return lose(err.message);
    }
    if (lost || gen !== this.generation) return;
    this.attempt = 0;
    this.setOnline(true);
  }

  teardown() {
    for (const c of [this.docs, this.cmd]) {
      if (!c) continue;
      c.removeAllListeners('close');
      c.removeAllListeners('offline');
      c.on('error', () => undefined);
      c.end(true);
    }
    this.docs = undefined;
    this.cmd = undefined;
    for (const [, p] of this.pending) p.reject(new CommandFailed('offline', 'connection lost'));
    this.pending.clear();
    this.setOnline(false);
  }

  retry(gen) {
    if (gen !== this.generation) return;
    this.setOnline(false);
    const wait = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), wait);
  }

  onDoc(topic, payload) {
    const t = parseTopic(topic);
    // an empty retained message removes a document [MQTT-3.3.1-10] (a page of basket lines no longer used)
    if (t?.kind === 'doc' && payload.length === 0) return this.emit('doc', { name: t.name, doc: null });
    let body;
    try {
      body = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      console.warn(`laned UI: ${topic} is not JSON; ignored`);
      return;
    }
    if (t?.kind === 'doc') this.emit('doc', { name: t.name, doc: body });
    else if (t?.kind === 'svc-state') this.emit('svc', { name: t.name, state: body });
  }

  onReply(topic, payload) {
    if (!topic.startsWith(this.replyPrefix)) return;
    const id = topic.slice(this.replyPrefix.length);
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    let reply;
    try {
      reply = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return p.reject(new CommandFailed('refused', 'the reply is not JSON'));
    }
    if (reply.ok) p.resolve(reply.result);
    else p.reject(new CommandFailed('refused', reply.error ?? 'refused'));
  }

  /** Send `cmd/<service>/<name>`; resolves with the result, rejects with CommandFailed. */
  command(service, name, args, by = 'ui') {
    const c = this.cmd;
    if (!c || !this.online) return Promise.reject(new CommandFailed('offline', 'not connected'));
    const id = newId();
    const body = { id, ...(args === undefined ? {} : { args }), replyTo: `${this.replyPrefix}${id}`, by };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new CommandFailed('timeout', `no answer from ${service} within ${COMMAND_TIMEOUT_MS / 1000} s`));
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      c.publish(cmd(service, name), JSON.stringify(body), { qos: 1 }, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new CommandFailed('offline', err.message));
      });
    });
  }
}
