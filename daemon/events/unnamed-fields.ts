import { Kind, type TSchema } from '@sinclair/typebox';
import type { TypeCheck } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';

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
 * The first way `value` breaks a compiled schema (`/path: message`, or `: message` at the
 * top), a field it does not name included; undefined when it keeps to it. What documents,
 * command replies and drivers' command results are checked with.
 */
export function valueProblem(check: TypeCheck<TSchema>, value: unknown): string | undefined {
  if (!check.Check(value)) {
    const first = check.Errors(value).First();
    return `${first?.path ?? ''}: ${first?.message ?? 'invalid'}`;
  }
  const extra = unnamedField(check.Schema(), value);
  return extra && `${extra}: a field its schema does not name`;
}
