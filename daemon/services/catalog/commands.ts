import { Type, type Static } from '@sinclair/typebox';
import { defineCommands, OptionalArgs } from '../../events/command.js';
import { ProductSchema } from '../../events/schemas/checkout.js';

/** What an import did: the new version, and the rows it refused with their reasons (the first ones). */
export const ImportReport = Type.Object(
  {
    version: Type.Integer({ minimum: 0 }),
    origin: Type.String(),
    rows: Type.Integer({ minimum: 0 }),
    imported: Type.Integer({ minimum: 0 }),
    rejected: Type.Integer({ minimum: 0 }),
    rejectedRows: Type.Array(Type.Object({ row: Type.Integer(), reason: Type.String() }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);
export type ImportReport = Static<typeof ImportReport>;

const Gtin = Type.String({ maxLength: 20 });
const Products = Type.Object({ products: Type.Array(ProductSchema) }, { additionalProperties: false });
/** A product added to the basket as a keyed scan (its ScanResolved has this `scan`). */
const Keyed = { scan: Type.String(), gtin: Type.String(), name: Type.String() };

/** `cmd/catalog/<Name>`: the products, their import and the touch UI's lookups. */
export const CATALOG_COMMANDS = defineCommands({
  Import: {
    description: 'Replace the catalog from a file on the board (`path`) or inline `content`.',
    args: Type.Object({
      path: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
      content: Type.Optional(Type.String({ maxLength: 60_000 })),
      format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('json')])),
      strict: Type.Optional(Type.Boolean()),
    }),
    result: ImportReport,
  },
  Show: {
    description: 'One product by GTIN.',
    args: Type.Object({ gtin: Gtin }),
    result: Type.Composite([ProductSchema, Type.Object({ currency: Type.String() })]),
  },
  Produce: {
    description: "Products sold by weight, for the touch UI's produce picker: most used first, optionally searched.",
    args: OptionalArgs(Type.Object({ search: Type.Optional(Type.String({ maxLength: 60 })) })),
    result: Products,
  },
  Search: {
    description: "The item lookup's name search: products whose name has every word typed (or whose GTIN/PLU it is), most used first.",
    args: Type.Object({ search: Type.String({ minLength: 1, maxLength: 60 }), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) }),
    result: Products,
  },
  Key: {
    description: 'A PLU or GTIN keyed on the number pad, added to the basket as a keyed entry.',
    args: Type.Object({ code: Type.String({ minLength: 1, maxLength: 20 }) }),
    result: Type.Object(Keyed, { additionalProperties: false }),
  },
  Pick: {
    description: 'A product picked on the touch UI (produce, the item lookup): resolved as a keyed scan from device `ui`.',
    args: Type.Object({ gtin: Gtin }),
    result: Type.Object({ ...Keyed, event: Type.String() }, { additionalProperties: false }),
  },
  List: {
    description: "A page of the catalog by name, optionally searched, with the catalog's version.",
    args: Type.Object({
      search: Type.Optional(Type.String({ maxLength: 100 })),
      offset: Type.Optional(Type.Integer({ minimum: 0 })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    }),
    result: Type.Object(
      {
        total: Type.Integer({ minimum: 0 }),
        version: Type.Integer({ minimum: 0 }),
        origin: Type.Optional(Type.String()),
        importedAt: Type.Optional(Type.String()),
        currency: Type.String(),
        products: Type.Array(ProductSchema),
      },
      { additionalProperties: false },
    ),
  },
});
