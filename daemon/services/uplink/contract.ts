/**
 * The lane's side of the store broker (the design "Topics": `store/<storeId>/lane/<laneId>/…`):
 * every topic the uplink publishes or reads there and the schema of each payload, spelled
 * once. The AsyncAPI document of the lane's interface takes them from here.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { EnvelopeSchema } from '../../events/envelope.js';
import { STORE_SENDER_MAX } from '../../events/schemas/uplink.js';
import { UPDATER_COMMANDS } from '../updater/commands.js';
import { RECEIPT_ROWS } from '../journal/commands.js';
import type { ChannelSource } from '../../events/asyncapi.js';

/** The lane's prefix on the store broker. */
export function lanePrefix(storeId: string, laneId: string): string {
  return `store/${storeId}/lane/${laneId}`;
}

export const storeTopics = {
  /** A lane event, QoS 1, in `seq` order per source; redeliveries carry the same `id`. */
  event: (prefix: string, source: string, type: string) => `${prefix}/evt/${source}/${type}`,
  /** A completed receipt for the store's ERP, QoS 1, not retained; a redelivery carries the same receipt id. */
  receipt: (prefix: string, receiptId: string) => `${prefix}/receipt/${receiptId}`,
  /** Retained fleet state, with a last will saying `offline`. */
  state: (prefix: string) => `${prefix}/state`,
  /** Retained state of each device. */
  devices: (prefix: string) => `${prefix}/devices`,
  /** Commands from store IT, one topic per command. */
  command: (prefix: string, name: string) => `${prefix}/cmd/${name}`,
  commands: (prefix: string) => `${prefix}/cmd/+`,
  /** The answer to the command with that id. */
  reply: (prefix: string, id: string) => `${prefix}/reply/${id}`,
} as const;

export const LaneEvent = EnvelopeSchema;

const Iso = Type.String({ maxLength: 40 });

export const LaneStateDoc = Type.Object(
  {
    state: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
    storeId: Type.String(),
    laneId: Type.String(),
    version: Type.Optional(Type.String()),
    /** The running slot and the updater's state, from doc/updater when the lane has an updater. */
    slot: Type.Optional(Type.String()),
    update: Type.Optional(Type.Unknown()),
    uptimeS: Type.Optional(Type.Integer({ minimum: 0 })),
    /** open: selling; closed: closed (a missing device, store IT); attention: blocking alarms open. */
    lane: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed'), Type.Literal('attention'), Type.Literal('unknown')])),
    transactionOpen: Type.Optional(Type.Boolean()),
    alarms: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Device name -> state (ok, degraded, disconnected, failed). */
    devices: Type.Optional(Type.Record(Type.String(), Type.String())),
    /** Events not yet at the store, all sources. */
    uplinkBacklog: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Events the lane's services (every source) committed and the lane broker has not acknowledged yet, all together… */
    outboxBacklog: Type.Optional(Type.Integer({ minimum: 0 })),
    /** …and per service that has any (the devices host holds the drivers' sources). */
    outboxBacklogs: Type.Optional(Type.Record(Type.String(), Type.Integer({ minimum: 1 }))),
    lastSale: Type.Optional(Iso),
    time: Iso,
  },
  { additionalProperties: false },
);
export type LaneStateDoc = Static<typeof LaneStateDoc>;

const Minor = Type.Integer({ minimum: 0 });

/**
 * A completed receipt as the journal recorded it, for the store's ERP: one message per
 * receipt, `receiptId` being the id of the journal's ReceiptRecorded event (unique, and
 * the same on every redelivery, so the store keeps each receipt once). When an event of
 * the transaction reaches the journal after the close and changes the receipt, the
 * receipt is sent again as a new revision, `receiptId` being the id of the journal's
 * ReceiptAmended event and `supersedes` the receipt it replaces: the ERP keeps the
 * highest revision of each `txn`.
 */
export const LaneReceipt = Type.Object(
  {
    receiptId: Type.String({ minLength: 1, maxLength: 64 }),
    /** 1 for the receipt as recorded at the close, then 2, 3, … for each amendment. */
    revision: Type.Integer({ minimum: 1 }),
    /** The `receiptId` of the revision this one replaces (absent on revision 1). */
    supersedes: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    storeId: Type.String(),
    laneId: Type.String(),
    /** The transaction id (`txn` of its events). */
    txn: Type.String({ minLength: 1, maxLength: 64 }),
    status: Type.Literal('completed'),
    started: Type.Optional(Iso),
    closed: Iso,
    /** When the journal recorded this revision (the ReceiptRecorded or ReceiptAmended event's time). */
    recorded: Iso,
    currency: Type.String({ pattern: '^[A-Z]{3}$' }),
    lines: Type.Array(RECEIPT_ROWS.line),
    removed: Type.Array(Type.Object(RECEIPT_ROWS.removed, { additionalProperties: false })),
    /** Sum of the lines, minor units of `currency`. */
    total: Minor,
    payments: Type.Array(Type.Object(RECEIPT_ROWS.payment, { additionalProperties: false })),
    interventions: Type.Array(Type.Object(RECEIPT_ROWS.intervention, { additionalProperties: false })),
    overrides: Type.Array(Type.Object(RECEIPT_ROWS.override, { additionalProperties: false })),
  },
  { additionalProperties: false },
);
export type LaneReceipt = Static<typeof LaneReceipt>;

export const LaneDevicesDoc = Type.Object({ devices: Type.Array(Type.Unknown()), time: Iso }, { additionalProperties: false });

const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$' });
const Url = Type.String({ pattern: '^https?://', maxLength: 2048 });

/** A catalog (or price) update as a claim check: where to fetch it and what it must hash to; never the file itself. */
export const CatalogUpdateArgs = Type.Object(
  { url: Url, sha256: Sha256, size: Type.Integer({ minimum: 1 }), version: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);
/** An update offer, handed to the lane's updater (`cmd/updater/Offer`) as it is: the updater's own schema. */
export const UpdateOfferArgs = UPDATER_COMMANDS.Offer.args;
export const LaneOpenCloseArgs = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false });
export const MessageArgs = Type.Object({ text: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false });

/**
 * The lane's commands the uplink sends, per service: store IT's commands handed on, the
 * catalog import, the receipts it reads. The uplink role may send these and no others (broker/acl.ts).
 */
export const UPLINK_SENDS: Record<string, readonly string[]> = {
  updater: ['Offer'],
  attendant: ['StoreOpen', 'StoreClose', 'StoreMessage'],
  catalog: ['Import'],
  journal: ['Show'],
};

/** Store IT's commands by name (`…/cmd/<name>`) and the schema of their `args`. */
export const storeCommands = {
  Catalog: CatalogUpdateArgs,
  Offer: UpdateOfferArgs,
  Open: LaneOpenCloseArgs,
  Close: LaneOpenCloseArgs,
  Message: MessageArgs,
} satisfies Record<string, TSchema>;
export type StoreCommandName = keyof typeof storeCommands;

export const StoreCommand = Type.Object(
  {
    /** Unique per command: a command seen before is answered again, not applied again. */
    id: Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' }),
    /** Who at the store sent it, journaled with the command as `store:<by>`. */
    by: Type.String({ minLength: 1, maxLength: STORE_SENDER_MAX }),
    args: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);
export type StoreCommand = Static<typeof StoreCommand>;

export const StoreReply = Type.Object(
  {
    id: Type.String(),
    command: Type.String(),
    ok: Type.Boolean(),
    result: Type.Optional(Type.Unknown()),
    error: Type.Optional(Type.String()),
    time: Iso,
  },
  { additionalProperties: false },
);
export type StoreReply = Static<typeof StoreReply>;

/** The store side for the AsyncAPI document: what a lane publishes on the store broker, and what it takes from there. */
export const storeChannels: ChannelSource = () => {
  const prefix = lanePrefix('{storeId}', '{laneId}');
  return {
    'store.evt': {
      address: storeTopics.event(prefix, '{source}', '{type}'),
      description: 'A lane event on the store broker (QoS 1), in seq order per source; a redelivery carries the same id, so the store drops what it has seen.',
      payload: LaneEvent,
      action: 'send',
    },
    'store.receipt': {
      address: storeTopics.receipt(prefix, '{receiptId}'),
      description:
        'A completed receipt for the ERP (QoS 1), sent from the journal log like the events, so an outage delays it and loses nothing; a redelivery carries the same receiptId.',
      payload: LaneReceipt,
      action: 'send',
    },
    'store.state': {
      address: storeTopics.state(prefix),
      description: 'The lane at a glance, retained, on change; the last will says offline.',
      payload: LaneStateDoc,
      action: 'send',
      retained: true,
    },
    'store.devices': {
      address: storeTopics.devices(prefix),
      description: "Each device's state, retained.",
      payload: LaneDevicesDoc,
      action: 'send',
      retained: true,
    },
    ...Object.fromEntries(
      Object.entries(storeCommands).map(([name, args]) => [
        `store.cmd.${name}`,
        {
          address: storeTopics.command(prefix, name),
          description: `Store IT's ${name} command (QoS 1), answered on reply/<id>.`,
          payload: Type.Composite([Type.Omit(StoreCommand, ['args']), Type.Object({ args })]),
          action: 'receive' as const,
        },
      ]),
    ),
    'store.reply': {
      address: storeTopics.reply(prefix, '{id}'),
      description: 'The answer to one command of store IT: applied, or refused and why.',
      payload: StoreReply,
      action: 'send',
    },
  };
};
