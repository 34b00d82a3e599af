import type { ServiceDefinition } from '../runtime.js';
import { probe } from './probe.js';
import { probeSink } from './probe-sink.js';

/** Every service laned can host, and whether it runs when config says nothing. */
export const serviceCatalog: Array<{ def: ServiceDefinition<any>; enabledByDefault: boolean }> = [
  { def: probe, enabledByDefault: false },
  { def: probeSink, enabledByDefault: false },
];
