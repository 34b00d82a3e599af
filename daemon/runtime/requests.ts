import type { MqttClient } from 'mqtt';
import { CommandError, newCommand, type CommandReply } from '../events/command.js';

/**
 * Commands a service sends and waits on: each with `replyTo` under the service's
 * own `reply/<clientId>/` (the only reply topic the broker lets it read), matched
 * to its reply by the command id.
 */
export class Requests {
  private readonly pending = new Map<string, (reply: CommandReply) => void>();

  constructor(
    private readonly clientId: string,
    private readonly by: string,
  ) {}

  /** The subscription the replies arrive on. */
  get topic(): string {
    return `reply/${this.clientId}/+`;
  }

  send(client: MqttClient | undefined, target: string, command: string, args: unknown, timeoutMs: number): Promise<unknown> {
    const cmd = newCommand(args, `reply/${this.clientId}/`, this.by);
    cmd.replyTo = `reply/${this.clientId}/${cmd.id}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(cmd.id);
        reject(new CommandError(`no answer from ${target} to ${command} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(cmd.id, (reply) => {
        clearTimeout(timer);
        this.pending.delete(cmd.id);
        if (reply.ok) resolve(reply.result);
        else reject(new CommandError(reply.error ?? `${target} ${command} failed`, reply.kind));
      });
      if (!client) return this.answer(cmd.id, Buffer.from(JSON.stringify({ id: cmd.id, ok: false, error: `${this.by} has no broker connection` })));
      client.publish(`cmd/${target}/${command}`, JSON.stringify(cmd), { qos: 1 });
    });
  }

  /** A reply arrived on `reply/<clientId>/<id>`; one nobody waits for (late, after its timeout) is dropped. */
  answer(id: string, payload: Buffer): void {
    let reply: CommandReply;
    try {
      reply = JSON.parse(payload.toString('utf8')) as CommandReply;
    } catch {
      reply = { id, ok: false, error: 'the reply is not JSON' };
    }
    this.pending.get(id)?.(reply);
  }
}
