import type { Principal } from './principal.js';
import { principalId } from './principal.js';
import { replyPrefix } from './topics.js';

/** Who a command was from, as its target reads it in `by`: the kiosk's sessions are all `ui`. */
export function commandBy(p: Principal): string {
  return p.role === 'ui' ? 'ui' : principalId(p);
}

/**
 * A command on `cmd/<target>/<Name>` as the broker passes it on: a JSON object whose
 * `by` is the sender's principal (whatever the sender wrote) and whose `replyTo`, when
 * given, lies under `reply/<the sender's clientId>/` (daemon/events/command.ts). Returns
 * why it is refused otherwise.
 */
export function stampCommand(payload: Buffer, clientId: string, p: Principal): { payload: Buffer; replyTo?: string } | string {
  let cmd: unknown;
  try {
    cmd = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    return `payload is not JSON: ${(err as Error).message}`;
  }
  if (!cmd || typeof cmd !== 'object' || Array.isArray(cmd)) return 'a command is a JSON object';
  const { replyTo } = cmd as { replyTo?: unknown };
  if (replyTo !== undefined && (typeof replyTo !== 'string' || !replyTo.startsWith(replyPrefix(clientId)) || /[#+]/.test(replyTo)))
    return `replyTo ${JSON.stringify(replyTo)} is not under reply/${clientId}/ (the sender's own clientId)`;
  const stamped = Buffer.from(JSON.stringify({ ...(cmd as object), by: commandBy(p) }));
  return typeof replyTo === 'string' ? { payload: stamped, replyTo } : { payload: stamped };
}

/** Replies expected at most at once (the oldest is forgotten first). */
const MAX_PENDING = 10_000;

/**
 * The replyTo topics of commands that passed, each with the one client that may answer
 * on it (the command's target, `laned-<target>`): nobody else can forge a reply.
 */
export class PendingReplies {
  private readonly pending = new Map<string, string>();

  expect(replyTo: string, responder: string): void {
    this.pending.delete(replyTo);
    this.pending.set(replyTo, responder);
    if (this.pending.size > MAX_PENDING) this.pending.delete(this.pending.keys().next().value as string);
  }

  mayAnswer(topic: string, clientId: string): boolean {
    return this.pending.get(topic) === clientId;
  }
}
