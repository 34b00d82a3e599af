/**
 * The lane's MQTT interface as an AsyncAPI 3.0 document, generated from the
 * schemas (TypeBox is JSON Schema): events, commands and their replies,
 * documents, service state and heads, replays, and the broker's own topic.
 * `npm run asyncapi` writes it to docs/asyncapi.yaml; a test fails when the
 * committed file and the code differ. Another part of the lane adds its
 * topics with one more entry in CHANNEL_SOURCES.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { stringify } from 'yaml';
import * as topics from '../../broker/topics.js';
import { EnvelopeSchema } from './envelope.js';
import { CommandSchema } from './command.js';
import { latestSchemas } from './schema.js';
import { DOC_SCHEMAS } from '../services/docs.js';
import { storeChannels } from '../services/uplink/contract.js';
import './schemas/index.js';

/** One channel: its address (with `{parameters}`), what travels on it and who sends it. */
export interface ChannelSpec {
  address: string;
  description: string;
  payload: TSchema;
  /** `send`: the lane publishes it; `receive`: the lane takes it. */
  action: 'send' | 'receive';
  retained?: boolean;
}

/** A part of the lane that describes its topics: channel id -> channel. */
export type ChannelSource = () => Record<string, ChannelSpec>;

const param = (description: string) => ({ description });

const ReplySchema = Type.Object(
  {
    id: Type.String(),
    ok: Type.Boolean(),
    result: Type.Optional(Type.Unknown()),
    error: Type.Optional(Type.String()),
    kind: Type.Optional(Type.Literal('not-found')),
  },
  { additionalProperties: false },
);

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

/** The runtime's own topics: commands, replies, state, heads, replays, the broker's discard topic. */
const runtimeChannels: ChannelSource = () => ({
  cmd: {
    address: topics.cmd('{target}', '{command}'),
    description: 'A command for one service or device host (QoS 1); answered on its replyTo.',
    payload: CommandSchema,
    action: 'receive',
  },
  reply: {
    address: topics.reply('{clientId}', '{id}'),
    description: "The answer to a command, under the asker's own reply prefix (QoS 1).",
    payload: ReplySchema,
    action: 'send',
  },
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

/** Every part that describes topics: the lane's broker, then the store broker's side. */
export const CHANNEL_SOURCES: ChannelSource[] = [eventChannels, docChannels, runtimeChannels, storeChannels];

/** The AsyncAPI 3.0 document of the given channel sources. */
export function asyncApiDocument(sources: ChannelSource[] = CHANNEL_SOURCES): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  for (const source of sources) {
    for (const [id, c] of Object.entries(source())) {
      if (id in channels) throw new Error(`two channels named ${id} in the AsyncAPI document`);
      const parameters = Object.fromEntries([...c.address.matchAll(/\{([^}]+)\}/g)].map((m) => [m[1], param(`${m[1]} in the topic`)]));
      channels[id] = {
        address: c.address,
        description: c.description,
        ...(Object.keys(parameters).length ? { parameters } : {}),
        messages: { [id]: { payload: JSON.parse(JSON.stringify(c.payload)) as unknown, ...(c.retained ? { 'x-retained': true } : {}) } },
        bindings: { mqtt: { bindingVersion: '0.2.0' } },
      };
      operations[`${c.action}.${id}`] = {
        action: c.action,
        channel: { $ref: `#/channels/${id.replace(/~/g, '~0').replace(/\//g, '~1')}` },
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
