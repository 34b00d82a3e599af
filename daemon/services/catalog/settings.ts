import { Type, type Static } from '@sinclair/typebox';

/** `services.catalog` in the config. */
export const CatalogSettings = Type.Object(
  {
    /** Scanner devices whose BarcodeScanned this service resolves (default: every scanner kind in `devices`). */
    scanners: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' }), { maxItems: 16 })),
    /** Load the demo catalog into an empty catalog (default: when every device is simulated). */
    demo: Type.Optional(Type.Boolean()),
    /** Largest catalog file accepted, in bytes (default 64 MiB). */
    maxFileBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 1024 * 1024 * 1024 })),
  },
  { additionalProperties: false },
);
export type CatalogSettings = Static<typeof CatalogSettings>;
