import { Type, type TSchema, type Static } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';

export { Type };
export type { TSchema, Static };

interface Registered {
  type: string;
  v: number;
  check: TypeCheck<TSchema>;
}

const registry = new Map<string, Registered>();
const latest = new Map<string, number>();
const upcasters = new Map<string, (data: unknown) => unknown>();

const key = (type: string, v: number): string => `${type}@${v}`;

/**
 * Register the schema of `data` for one event type and version. Producers and
 * consumers both validate against it (the design "envelope": `v` versions `data`).
 * Call at module load of daemon/events/schemas/*.ts.
 */
export function defineEvent<S extends TSchema>(type: string, v: number, schema: S): S {
  registry.set(key(type, v), { type, v, check: TypeCompiler.Compile(schema) });
  if ((latest.get(type) ?? 0) < v) latest.set(type, v);
  return schema;
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
    return latest.has(type)
      ? `unknown version ${v} of event type ${type} (known up to ${latest.get(type)})`
      : `unknown event type ${type}`;
  }
  if (reg.check.Check(data)) return undefined;
  const first = reg.check.Errors(data).First();
  return first ? `data${first.path || ''}: ${first.message}` : 'data does not match its schema';
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
