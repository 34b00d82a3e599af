/**
 * Validate a device's raw config against its TypeBox schema, filling defaults.
 * A problem names the key path, the value found and what is allowed
 * (the code conventions "Errors": name the thing and what to do).
 */
import type { TSchema, Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { compiled } from './schema-check.js';

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** What a schema allows, in words. */
export function allowed(schema: TSchema): string {
  const s = schema as TSchema & Record<string, unknown>;
  if (Array.isArray(s.anyOf)) {
    const consts = (s.anyOf as TSchema[]).map((x) => (x as { const?: unknown }).const);
    if (consts.every((c) => c !== undefined)) return `one of ${consts.map((c) => JSON.stringify(c)).join(', ')}`;
    return (s.anyOf as TSchema[]).map(allowed).join(' or ');
  }
  if (s.const !== undefined) return JSON.stringify(s.const);
  const parts: string[] = [];
  const type = s.type as string | undefined;
  if (type) parts.push(type === 'integer' ? 'an integer' : type === 'array' ? 'a list' : type === 'object' ? 'an object' : `a ${type}`);
  if (s.minimum !== undefined && s.maximum !== undefined) parts.push(`from ${s.minimum} to ${s.maximum}`);
  else if (s.minimum !== undefined) parts.push(`>= ${s.minimum}`);
  else if (s.maximum !== undefined) parts.push(`<= ${s.maximum}`);
  if (s.pattern) parts.push(`matching ${s.pattern}`);
  if (s.minLength !== undefined || s.maxLength !== undefined) parts.push(`of ${s.minLength ?? 0} to ${s.maxLength ?? 'any'} characters`);
  if (s.maxItems !== undefined) parts.push(`of at most ${s.maxItems} items`);
  return parts.join(' ') || 'a different value';
}

export type ConfigResult<T> = { ok: true; config: T } | { ok: false; problem: string };

/**
 * `where` prefixes the key path in problems, e.g. "devices.scanner".
 * Unknown keys are problems too (a typo must not silently fall back to a default).
 */
export function parseConfig<S extends TSchema>(schema: S, raw: unknown, where: string): ConfigResult<Static<S>> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, problem: `${where}: expected an object, got ${show(raw)}` };
  const value = Value.Default(schema, Value.Clone(raw)) as unknown;
  const check = compiled(schema);
  if (check.Check(value)) return { ok: true, config: value as Static<S> };
  const errors = [...check.Errors(value)];
  // Prefer the most specific error (deepest path); unions report on their own path.
  errors.sort((a, b) => b.path.length - a.path.length);
  const e = errors[0];
  const key = e.path ? `${where}${e.path.replace(/\//g, '.')}` : where;
  if (e.message.toLowerCase().includes('unexpected property') || /additional/i.test(e.message)) {
    return { ok: false, problem: `${key}: unknown key (misspelt?)` };
  }
  if (e.value === undefined) return { ok: false, problem: `${key}: missing; expected ${allowed(e.schema)}` };
  return { ok: false, problem: `${key}: got ${show(e.value)}, expected ${allowed(e.schema)}` };
}
