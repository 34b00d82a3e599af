/**
 * The lane's MQTT interface as an AsyncAPI 3.0 document, generated from the
 * schemas (TypeBox is JSON Schema): events, commands and their replies,
 * documents, service state and heads, replays, and the broker's own topic.
 * `npm run asyncapi` writes it to docs/asyncapi.yaml; a test fails when the
 * committed file and the code differ. Another part of the lane adds its
 * topics with one more entry in CHANNEL_SOURCES.
 */
import { Kind, Type, type TSchema, type TUnion } from '@sinclair/typebox';
import { stringify } from 'yaml';
import * as topics from '../../broker/topics.js';
import { EnvelopeSchema } from './envelope.js';
import { CommandReplySchema, CommandSchema, type CommandContract } from './command.js';
import { latestSchemas } from './schema.js';
import { DOC_SCHEMAS } from '../services/docs.js';
import { storeChannels } from '../services/uplink/contract.js';
import { BUILTIN_COMMANDS, SERVICE_COMMANDS } from '../services/commands.js';
import { ReplayArgs } from '../runtime/replay-server.js';
import './schemas/index.js';

/** One channel: its address (with `{parameters}`), what travels on it and who sends it. */
export interface ChannelSpec {
  address: string;
  description: string;
  /** The one message on the channel, named as the channel; or `messages`, several by name. */
  payload?: TSchema;
  messages?: Record<string, TSchema>;
  /** `send`: the lane publishes it; `receive`: the lane takes it. */
  action: 'send' | 'receive';
  retained?: boolean;
  /** The answer, on the topic the message's `replyTo` names: a message of another channel. */
  reply?: { channel: string; message: string };
}

/** A part of the lane that describes its topics: channel id -> channel. */
export type ChannelSource = () => Record<string, ChannelSpec>;

const param = (description: string) => ({ description });

/** Events: one channel per type, the envelope with that type's `data`. */
const eventChannels: ChannelSource = () => {
  const out: Record<string, ChannelSpec> = {};
  for (const [type, data] of [...latestSchemas()].sort(([a], [b]) => a.localeCompare(b))) {
    out[`evt.${type}`] = {
      address: topics.evt('{source}', type),
      description: `${type}: a domain event, published by its source alone (QoS 1).`,
      payload: Type.Composite([Type.Omit(EnvelopeSchema, ['data', 'type']), Type.Object({ type: Type.Literal(type), data })]),
      action: 'send',
    };
  }
  return out;
};

/** Documents: retained, one channel each. */
const docChannels: ChannelSource = () =>
  Object.fromEntries(
    Object.entries(DOC_SCHEMAS).map(([name, payload]) => [
      `doc.${name.replace(/[/{}]/g, (c) => (c === '/' ? '.' : ''))}`,
      { address: `doc/${name}`, description: `doc/${name}: a retained document for readers (QoS 1).`, payload, action: 'send' as const, retained: true },
    ]),
  );

/** The runtime's own topics: state, heads, replays, the broker's discard topic. */
const runtimeChannels: ChannelSource = () => ({
  svcState: {
    address: topics.svcState('{name}'),
    description: 'A service is online or offline: retained birth and will (QoS 1).',
    payload: Type.Object({ state: Type.String() }, { additionalProperties: true }),
    action: 'send',
    retained: true,
  },
  svcHead: {
    address: topics.svcHead('{source}'),
    description: "The source's newest acknowledged seq (retained, QoS 1).",
    payload: Type.Object({ seq: Type.Integer({ minimum: 0 }) }),
    action: 'send',
    retained: true,
  },
  replay: {
    address: topics.replay('{source}', '{consumer}'),
    description: "A source's events again for one consumer that asked with cmd/<source>/Replay (QoS 1).",
    payload: EnvelopeSchema,
    action: 'send',
  },
  replayEnd: {
    address: topics.replayEnd('{source}', '{consumer}'),
    description: 'The end of one replay and where the source log begins (QoS 1).',
    payload: Type.Object({ from: Type.Integer(), to: Type.Integer(), firstAvailable: Type.Integer() }),
    action: 'send',
  },
  discarded: {
    address: topics.DISCARDED_TOPIC,
    description: 'Where the broker puts a refused publish, emptied; nobody may subscribe.',
    payload: Type.Null(),
    action: 'send',
  },
});

/** `args` as a property of the command: optional when the contract admits none (`undefined`, or anything). */
function argsProperty(args: TSchema) {
  const kind = (args as { [Kind]?: string })[Kind];
  if (kind === 'Unknown') return Type.Optional(args);
  if (kind === 'Union') {
    const rest = (args as TUnion).anyOf.filter((s) => (s as { [Kind]?: string })[Kind] !== 'Undefined');
    if (rest.length < (args as TUnion).anyOf.length) return Type.Optional(rest.length === 1 ? rest[0] : Type.Union(rest));
  }
  return args;
}

/** A command on its topic: the command envelope with the contract's `args`. */
const commandMessage = (args: TSchema) =>
  Type.Composite([Type.Omit(CommandSchema, ['args']), Type.Object({ args: argsProperty(args) })], { additionalProperties: false });

/**
 * Commands: one channel per command of each service (`cmd/<service>/<Name>`), one per
 * command every service answers (`cmd/{service}/<Name>`), and the replies, one message
 * per command, on the asker's `reply/{clientId}/{id}`.
 */
const commandChannels: ChannelSource = () => {
  const out: Record<string, ChannelSpec> = {};
  const replies: Record<string, TSchema> = {};
  const add = (service: string, name: string, c: CommandContract, message: string): void => {
    out[`cmd.${message}`] = {
      address: topics.cmd(service, name),
      description: `${c.description} QoS 1, answered on its replyTo.`,
      payload: commandMessage(c.args),
      action: 'receive',
      reply: { channel: 'reply', message },
    };
    replies[message] = CommandReplySchema(c.result);
  };
  for (const [service, commands] of Object.entries(SERVICE_COMMANDS).sort(([a], [b]) => a.localeCompare(b))) {
    for (const [name, c] of Object.entries(commands)) add(service, name, c, `${service}.${name}`);
  }
  for (const [name, c] of Object.entries(BUILTIN_COMMANDS)) add('{service}', name, c, name);
  out['cmd.Replay'] = {
    address: topics.cmd('{source}', 'Replay'),
    description: "A service asks for a source's events again (QoS 1); answered on replay/<source>/<consumer>, not on a replyTo.",
    payload: commandMessage(ReplayArgs),
    action: 'receive',
  };
  out.reply = {
    address: topics.reply('{clientId}', '{id}'),
    description: "The answer to a command, under the asker's own reply prefix (QoS 1): `result` when ok, `error` when refused.",
    messages: replies,
    action: 'send',
  };
  return out;
};

/** Every part that describes topics: the lane's broker, then the store broker's side. */
export const CHANNEL_SOURCES: ChannelSource[] = [eventChannels, docChannels, commandChannels, runtimeChannels, storeChannels];

/** A JSON pointer token [RFC 6901 §3]. */
const pointer = (token: string): string => token.replace(/~/g, '~0').replace(/\//g, '~1');
const channelRef = (id: string): string => `#/channels/${pointer(id)}`;

/** The AsyncAPI 3.0 document of the given channel sources. */
export function asyncApiDocument(sources: ChannelSource[] = CHANNEL_SOURCES): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  for (const source of sources) {
    for (const [id, c] of Object.entries(source())) {
      if (id in channels) throw new Error(`two channels named ${id} in the AsyncAPI document`);
      const parameters = Object.fromEntries([...c.address.matchAll(/\{([^}]+)\}/g)].map((m) => [m[1], param(`${m[1]} in the topic`)]));
      const messages = c.messages ?? (c.payload ? { [id]: c.payload } : {});
      channels[id] = {
        address: c.address,
        description: c.description,
        ...(Object.keys(parameters).length ? { parameters } : {}),
        messages: Object.fromEntries(
          Object.entries(messages).map(([name, payload]) => [
            name,
            { payload: JSON.parse(JSON.stringify(payload)) as unknown, ...(c.retained ? { 'x-retained': true } : {}) },
          ]),
        ),
        bindings: { mqtt: { bindingVersion: '0.2.0' } },
      };
      operations[`${c.action}.${id}`] = {
        action: c.action,
        channel: { $ref: channelRef(id) },
        ...(c.reply
          ? {
              reply: {
                address: { location: '$message.payload#/replyTo' },
                channel: { $ref: channelRef(c.reply.channel) },
                messages: [{ $ref: `${channelRef(c.reply.channel)}/messages/${pointer(c.reply.message)}` }],
              },
            }
          : {}),
        bindings: { mqtt: { qos: 1, retain: c.retained ?? false, bindingVersion: '0.2.0' } },
      };
    }
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'laned',
      version: '1',
      description: "The MQTT interface of one self-checkout lane (MQTT 3.1.1, QoS 1). Generated from the lane's schemas by `npm run asyncapi`.",
    },
    defaultContentType: 'application/json',
    channels,
    operations,
  };
}

/** The document as docs/asyncapi.yaml holds it. */
export function asyncApiYaml(sources: ChannelSource[] = CHANNEL_SOURCES): string {
  return stringify(asyncApiDocument(sources), { aliasDuplicateObjects: false, lineWidth: 0 });
}
