/**
 * The schema of every retained document (`doc/<name>`, the design "Topics"): what
 * the touch UI, lanectl and store IT read. Services publish them through
 * ServiceContext.publishDoc, which the compiler checks against these; the tests'
 * MQTT observers check every document they see (test/helpers/session.ts), and the
 * AsyncAPI document lists them.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { InterventionKind, ItemAddedToBasket, MissingNeed } from '../events/schemas/checkout.js';
import { DeviceStatusEvent } from '../events/schemas/devices.js';
import { valueProblem } from '../../drivers/schema-check.js';
import type { BasketPage, BasketSummary } from './basket/doc.js';

const Time = Type.String({ maxLength: 40 });
const BasketStatus = Type.Union([Type.Literal('idle'), Type.Literal('open'), Type.Literal('paying'), Type.Literal('completed'), Type.Literal('cancelled')]);

/** `doc/basket`: the basket's summary; its lines are in pages. */
export const BasketSummaryDoc = Type.Object({
  lane: Type.String(),
  rev: Type.Integer({ minimum: 0 }),
  txn: Type.Union([Type.String(), Type.Null()]),
  status: BasketStatus,
  currency: Type.String(),
  total: Type.Integer(),
  items: Type.Integer({ minimum: 0 }),
  lineCount: Type.Integer({ minimum: 0 }),
  pages: Type.Integer({ minimum: 0 }),
  linesRev: Type.Integer({ minimum: 0 }),
  blocked: Type.Integer({ minimum: 0 }),
  /** Own bags the shopper declared in this transaction. */
  bags: Type.Optional(Type.Integer({ minimum: 0 })),
  payment: Type.Optional(Type.String()),
  notice: Type.Optional(
    Type.Object({
      code: Type.Union([Type.Literal('weigh'), Type.Literal('unknown'), Type.Literal('declined'), Type.Literal('scan-refused')]),
      text: Type.String(),
      name: Type.Optional(Type.String()),
    }),
  ),
  last: Type.Optional(Type.Object({ txn: Type.String(), status: BasketStatus, total: Type.Integer() })),
});

/** `doc/basket/lines/<k>`: one page of the basket's lines. */
export const BasketPageDoc = Type.Object({
  txn: Type.String(),
  page: Type.Integer({ minimum: 0 }),
  rev: Type.Integer({ minimum: 0 }),
  lines: Type.Array(Type.Composite([ItemAddedToBasket, Type.Object({ pendingRemoval: Type.Optional(Type.Integer({ minimum: 0 })) })])),
});

/** `doc/lane`: the lane's state, its light and the open interventions (attendant). */
export const LaneDoc = Type.Object({
  state: Type.String(),
  attendantMode: Type.Union([Type.Literal('pin'), Type.Literal('key'), Type.Null(), Type.Boolean()]),
  closed: Type.Boolean(),
  missing: Type.Optional(Type.Array(MissingNeed)),
  /** Store IT closed the lane (uplink Close): who, why, since when. */
  storeClosed: Type.Optional(Type.Object({ by: Type.String(), reason: Type.Optional(Type.String()), since: Time })),
  /** Store IT's messages for the staff (uplink Message), newest first, the last few. */
  storeMessages: Type.Optional(Type.Array(Type.Object({ text: Type.String(), by: Type.String(), time: Time }), { maxItems: 5 })),
  txn: Type.Union([Type.String(), Type.Null()]),
  light: Type.Record(Type.String(), Type.String()),
  interventions: Type.Array(
    Type.Object({
      id: Type.String(),
      txn: Type.Union([Type.String(), Type.Null()]),
      kind: InterventionKind,
      reason: Type.String(),
      blocking: Type.Boolean(),
      raised: Time,
      line: Type.Optional(Type.String()),
      key: Type.Optional(Type.String()),
    }),
  ),
  pinLockedUntil: Type.Optional(Type.Unknown()),
});

/** `doc/devices`: every device's status, and the scans that could not be stored. */
export const DevicesDoc = Type.Object({
  devices: Type.Array(DeviceStatusEvent),
  lostScans: Type.Optional(
    Type.Object({
      count: Type.Integer({ minimum: 1 }),
      last: Type.Optional(Type.Object({ device: Type.String(), time: Time, reason: Type.String() })),
    }),
  ),
  time: Time,
});

/** `doc/bagging`: the security scale's view of the current transaction (weightcheck). */
export const BaggingDoc = Type.Object({
  txn: Type.Union([Type.String(), Type.Null()]),
  state: Type.Union([Type.Literal('idle'), Type.Literal('ok'), Type.Literal('waiting'), Type.Literal('alarm'), Type.Literal('unavailable')]),
  inputs: Type.Optional(Type.Integer({ minimum: 0 })),
  actualG: Type.Optional(Type.Number()),
  expectedG: Type.Optional(Type.Number()),
  outstanding: Type.Optional(Type.Array(Type.Object({ line: Type.String(), g: Type.Number() }))),
  alarms: Type.Optional(Type.Array(Type.String())),
  ended: Type.Optional(Type.Boolean()),
  weighed: Type.Optional(Type.Boolean()),
  blind: Type.Optional(Type.Array(Type.String())),
});

/** `doc/updater`: the updater's state, the running and staged versions and its history (its fields are the updater's own). */
export const UpdaterDoc = Type.Object(
  { state: Type.String(), running: Type.Object({ version: Type.String() }, { additionalProperties: true }) },
  { additionalProperties: true },
);

/** `doc/uplink`: whether the store broker gets the lane's events, and what waits to be sent. */
export const UplinkDoc = Type.Object(
  {
    connected: Type.Boolean(),
    store: Type.String(),
    lastError: Type.Optional(Type.String()),
    since: Type.Optional(Type.String()),
    backlog: Type.Integer({ minimum: 0 }),
    alarms: Type.Array(Type.String()),
    lost: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

/** Document name -> its content. */
export interface DocMap {
  basket: BasketSummary;
  [page: `basket/lines/${number}`]: BasketPage;
  lane: Static<typeof LaneDoc>;
  devices: Static<typeof DevicesDoc>;
  bagging: Static<typeof BaggingDoc>;
  updater: Static<typeof UpdaterDoc>;
  uplink: Static<typeof UplinkDoc>;
}

/** Every document's schema by name; `basket/lines/{page}` stands for every page. */
export const DOC_SCHEMAS: Record<string, TSchema> = {
  basket: BasketSummaryDoc,
  'basket/lines/{page}': BasketPageDoc,
  lane: LaneDoc,
  devices: DevicesDoc,
  bagging: BaggingDoc,
  updater: UpdaterDoc,
  uplink: UplinkDoc,
};

/** The schema key of a document name (`basket/lines/3` -> `basket/lines/{page}`), or undefined for an unknown one. */
export function docSchemaKey(name: string): string | undefined {
  if (/^basket\/lines\/[0-9]+$/.test(name)) return 'basket/lines/{page}';
  return name in DOC_SCHEMAS ? name : undefined;
}

/** First problem of a document against its schema, or undefined when it is valid. */
export function docProblem(name: string, body: unknown): string | undefined {
  const key = docSchemaKey(name);
  if (!key) return `doc/${name} has no schema (daemon/services/docs.ts)`;
  const problem = valueProblem(DOC_SCHEMAS[key], body);
  return problem && `doc/${name}${problem}`;
}
