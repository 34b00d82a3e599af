import type { ServiceDefinition } from '../runtime/runtime.js';
import { probe } from './probe/service.js';
import { probeSink } from './probe/sink.js';
import { catalog } from './catalog/service.js';
import { basket } from './basket/service.js';
import { weightcheck } from './weightcheck/service.js';
import { attendant } from './attendant/service.js';
import { payment } from './payment/service.js';
import { journal } from './journal/service.js';
import { updater } from './updater/service.js';
import { uplink } from './uplink/service.js';
import type { Config } from '../core/config.js';

/** Every service laned can host, and whether it runs when config says nothing. */
export const serviceCatalog: Array<{ def: ServiceDefinition<unknown>; enabledByDefault: boolean | ((config: Config) => boolean) }> = [
  { def: probe, enabledByDefault: false },
  { def: probeSink, enabledByDefault: false },
  { def: catalog, enabledByDefault: true },
  { def: basket, enabledByDefault: true },
  { def: weightcheck, enabledByDefault: true },
  { def: attendant, enabledByDefault: true },
  { def: payment, enabledByDefault: true },
  { def: journal, enabledByDefault: true },
  { def: updater, enabledByDefault: true },
  // no uplink.url, no uplink
  { def: uplink, enabledByDefault: (config) => config.uplink !== undefined },
];
