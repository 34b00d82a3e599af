import type { TObject } from '@sinclair/typebox';
import { AttendantSettings } from './attendant/settings.js';
import { BasketSettings } from './basket/settings.js';
import { CatalogSettings } from './catalog/settings.js';
import { JournalSettings } from './journal/settings.js';
import { PaymentSettings } from './payment/settings.js';
import { ProbeSettings, ProbeSinkSettings } from './probe/settings.js';
import { WeightcheckSettings } from './weightcheck/settings.js';
import { UpdaterServiceSettings } from './updater/settings.js';

/**
 * The settings schema of every service laned can host, by the name it has
 * under `services` in the config (besides `enabled`, which every one takes).
 * Each is declared next to its service; config load checks against them.
 */
export const serviceSettings: Record<string, TObject> = {
  probe: ProbeSettings,
  'probe-sink': ProbeSinkSettings,
  catalog: CatalogSettings,
  basket: BasketSettings,
  weightcheck: WeightcheckSettings,
  attendant: AttendantSettings,
  payment: PaymentSettings,
  journal: JournalSettings,
  updater: UpdaterServiceSettings,
};
