import type { ServiceDefinition } from '../runtime.js';
import { probe } from './probe.js';
import { probeSink } from './probe-sink.js';
import { catalog } from './catalog.js';
import { basket } from './basket.js';
import { weightcheck } from './weightcheck.js';
import { attendant } from './attendant.js';
import { payment } from './payment.js';
import { journal } from './journal.js';
import { uplink } from './uplink.js';
import type { Config } from '../config.js';

/** Every service laned can host, and whether it runs when config says nothing. */
export const serviceCatalog: Array<{ def: ServiceDefinition<any>; enabledByDefault: boolean | ((config: Config) => boolean) }> = [
  { def: probe, enabledByDefault: false },
  { def: probeSink, enabledByDefault: false },
  { def: catalog, enabledByDefault: true },
  { def: basket, enabledByDefault: true },
  { def: weightcheck, enabledByDefault: true },
  { def: attendant, enabledByDefault: true },
  { def: payment, enabledByDefault: true },
  { def: journal, enabledByDefault: true },
  // no uplink.url, no uplink
  { def: uplink, enabledByDefault: (config) => config.uplink !== undefined },
];
