/**
 * Device events (the design "Devices"): their schemas are declared by drivers/
 * (drivers/events.ts), which publishes them; registered here with the others.
 */
import { defineEvent } from '../schema.js';
import { deviceEventSchemas } from '../../../drivers/events.js';

export * from '../../../drivers/events.js';

for (const [type, schema] of deviceEventSchemas()) defineEvent(type, 1, schema);
