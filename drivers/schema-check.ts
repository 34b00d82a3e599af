/**
 * Checking a value against its TypeBox schema, one way everywhere: each schema is
 * compiled once, and a problem reads `/path: message` for the caller to prefix with
 * what was checked (`data`, `args`, `doc/basket`). Lives in the lowest layer so that
 * drivers and the daemon share it.
 */
import { Kind, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';

const compiledChecks = new WeakMap<TSchema, TypeCheck<TSchema>>();

/** `schema` compiled, once however many places check against it. */
export function compiled<S extends TSchema>(schema: S): TypeCheck<S> {
  let c = compiledChecks.get(schema);
  if (!c) compiledChecks.set(schema, (c = TypeCompiler.Compile(schema)));
  return c as TypeCheck<S>;
}

/** The first way `value` breaks `schema` (`/path: message`, `: message` at the top), or undefined when it keeps to it. */
export function firstError(schema: TSchema, value: unknown): string | undefined {
  const check = compiled(schema);
  if (check.Check(value)) return undefined;
  const first = check.Errors(value).First();
  return first ? `${first.path}: ${first.message}` : ': invalid';
}

/**
 * The first field of `value` its schema does not name (`/a/b`), or undefined. A schema
 * check passes such a field (TypeBox objects allow more properties unless told not to),
 * so a document or a reply could carry something its contract never describes. Objects
 * that allow more (`additionalProperties`), records and `Unknown` are not looked into; of
 * a union, the first member the value matches is.
 */
export function unnamedField(schema: TSchema, value: unknown, path = ''): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const s = schema as TSchema & Record<string, unknown>;
  switch (s[Kind]) {
    case 'Union': {
      const member = (s.anyOf as TSchema[]).find((m) => Value.Check(m, value));
      return member && unnamedField(member, value, path);
    }
    case 'Intersect': {
      const props = Object.assign({}, ...(s.allOf as TSchema[]).map((m) => (m.properties as object | undefined) ?? {})) as Record<string, TSchema>;
      return unnamedField({ ...s, [Kind]: 'Object', properties: props } as TSchema, value, path);
    }
    case 'Array':
      if (!Array.isArray(value)) return undefined;
      for (let i = 0; i < value.length; i++) {
        const found = unnamedField(s.items as TSchema, value[i], `${path}/${i}`);
        if (found) return found;
      }
      return undefined;
    case 'Object': {
      const props = (s.properties ?? {}) as Record<string, TSchema>;
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (!Object.hasOwn(props, k)) {
          if (s.additionalProperties === undefined || s.additionalProperties === false) return `${path}/${k}`;
          continue;
        }
        const found = unnamedField(props[k], v, `${path}/${k}`);
        if (found) return found;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/**
 * firstError, and then the first field `value` carries that `schema` does not name. What
 * documents, command replies and drivers' command results are checked with: what goes
 * out must be what its contract describes, no more.
 */
export function valueProblem(schema: TSchema, value: unknown): string | undefined {
  const problem = firstError(schema, value);
  if (problem) return problem;
  const extra = unnamedField(schema, value);
  return extra && `${extra}: a field its schema does not name`;
}
