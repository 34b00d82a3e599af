import { Type, type Static } from '@sinclair/typebox';

/** `services.updater` in the config: only `enabled`; the updater's own keys are under `updater` (daemon/updater/settings.ts). */
export const UpdaterServiceSettings = Type.Object({}, { additionalProperties: false });
export type UpdaterServiceSettings = Static<typeof UpdaterServiceSettings>;
