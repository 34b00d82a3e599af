import { Type, type TSchema, type Static } from '@sinclair/typebox';
import { compiled, firstError } from '../../drivers/schema-check.js';

export { Type };
export type { TSchema, Static };

interface Registered {
  type: string;
  v: number;
  schema: TSchema;
}

const registry = new Map<string, Registered>();
const latest = new Map<string, number>();
const upcasters = new Map<string, (data: unknown) => unknown>();

const key = (type: string, v: number): string => `${type}@${v}`;

/**
 * The schema of one event type's `data`, carrying the type's name for the
 * compiler only (no such property exists at run time): daemon/events/schemas
 * derives the event map from these. Structural, so that drivers/events.ts
 * declares its schemas the same way without importing daemon/.
 */
export type EventSchema<N extends string = string, S extends TSchema = TSchema> = S & { readonly '~event': N };

/** Type name -> `data` of every event schema among a module's exports (`typeof import('./x.js')`). */
export type EventMapOf<M> = {
  [K in keyof M as M[K] extends { readonly '~event': infer N extends string } ? N : never]: M[K] extends TSchema ? Static<M[K]> : never;
};

/**
 * Register the schema of `data` for one event type and version. Producers and
 * consumers both validate against it (the design "envelope": `v` versions `data`).
 * Call at module load of daemon/events/schemas/*.ts; export the latest version
 * of each type from there (the event map is made of those exports).
 */
export function defineEvent<const N extends string, S extends TSchema>(type: N, v: number, schema: S): EventSchema<N, S> {
  registry.set(key(type, v), { type, v, schema });
  compiled(schema);
  if ((latest.get(type) ?? 0) < v) latest.set(type, v);
  return schema as EventSchema<N, S>;
}

/** Every registered event type with the schema of its latest version (the AsyncAPI document lists them). */
export function latestSchemas(): Map<string, TSchema> {
  return new Map([...latest].map(([type, v]) => [type, registry.get(key(type, v))!.schema]));
}

/** Teach readers to lift `data` of version `from` to `from + 1`. */
export function defineUpcaster(type: string, from: number, up: (data: unknown) => unknown): void {
  upcasters.set(key(type, from), up);
}

export function latestVersion(type: string): number | undefined {
  return latest.get(type);
}

export function isKnownType(type: string): boolean {
  return latest.has(type);
}

/** First problem of `data` against the schema for (type, v), or undefined when it is valid. */
export function dataProblem(type: string, v: number, data: unknown): string | undefined {
  const reg = registry.get(key(type, v));
  if (!reg) {
    return latest.has(type) ? `unknown version ${v} of event type ${type} (known up to ${latest.get(type)})` : `unknown event type ${type}`;
  }
  const problem = firstError(reg.schema, data);
  return problem && `data${problem}`;
}

/** Lift data from version v to the latest known one; returns [data, v]. */
export function upcast(type: string, v: number, data: unknown): [unknown, number] {
  const top = latest.get(type) ?? v;
  let d = data;
  let cur = v;
  while (cur < top) {
    const up = upcasters.get(key(type, cur));
    if (!up) break;
    d = up(d);
    cur += 1;
  }
  return [d, cur];
}
