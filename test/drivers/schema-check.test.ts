/**
 * A document or reply that passes its schema may still carry fields the schema never
 * names (TypeBox objects allow more unless told not to): unnamedField finds the first,
 * through nested objects, arrays, unions (the member the value matches) and
 * intersections, and leaves alone what a schema leaves open.
 */
import t from 'tap';
import { Type } from '@sinclair/typebox';
import { unnamedField } from '../../drivers/schema-check.js';
import { NoArgs, replyProblem } from '../../daemon/events/command.js';
import { BUILTIN_COMMANDS } from '../../daemon/runtime/builtin-commands.js';
import { docProblem } from '../../daemon/services/docs.js';

const Line = Type.Object({ gtin: Type.String(), quantity: Type.Integer() });
const Doc = Type.Object({
  txn: Type.String(),
  lines: Type.Array(Line),
  last: Type.Optional(Type.Object({ total: Type.Integer() })),
  payment: Type.Union([Type.Object({ kind: Type.Literal('card'), auth: Type.String() }), Type.Object({ kind: Type.Literal('cash'), given: Type.Integer() })]),
  both: Type.Intersect([Type.Object({ a: Type.Integer() }), Type.Object({ b: Type.Integer() })]),
  open: Type.Object({ state: Type.String() }, { additionalProperties: true }),
  any: Type.Unknown(),
  counts: Type.Record(Type.String(), Type.Integer()),
});
const ok = {
  txn: 'T-1',
  lines: [{ gtin: '1', quantity: 1 }],
  last: { total: 5 },
  payment: { kind: 'cash', given: 10 },
  both: { a: 1, b: 2 },
  open: { state: 'x', more: true },
  any: { whatever: 1 },
  counts: { a: 1 },
};

t.equal(unnamedField(Doc, ok), undefined, 'every field named, open places left alone');
t.equal(unnamedField(Doc, { ...ok, extra: 1 }), '/extra', 'at the top');
t.equal(unnamedField(Doc, { ...ok, last: { total: 5, when: 'now' } }), '/last/when', 'in a nested object');
t.equal(unnamedField(Doc, { ...ok, lines: [ok.lines[0], { gtin: '2', quantity: 1, price: 3 }] }), '/lines/1/price', 'in an array item');
t.equal(unnamedField(Doc, { ...ok, payment: { kind: 'cash', given: 10, auth: 'A' } }), '/payment/auth', 'in the union member the value matches');
t.equal(unnamedField(Doc, { ...ok, both: { a: 1, b: 2, c: 3 } }), '/both/c', 'in an intersection, beyond all its parts');
t.equal(unnamedField(Type.Array(Line), [{ gtin: '1', quantity: 1, x: 1 }]), '/0/x', 'a top-level array');
t.equal(unnamedField(Doc, 'not an object'), undefined, 'a scalar has no fields');

t.test('a reply or a document with a field its contract does not name is a break', async (t) => {
  const contract = { description: 'test', args: NoArgs, result: Type.Object({ a: Type.Integer() }) };
  t.equal(replyProblem('svc/Cmd', contract, { id: '1', ok: true, result: { a: 1 } }), undefined);
  t.equal(
    replyProblem('svc/Cmd', contract, { id: '1', ok: true, result: { a: 1, b: 2 } }),
    'the reply to svc/Cmd breaks its contract: result/b: a field its schema does not name',
  );
  const status = { name: 'uplink', state: 'running', connected: true, outboxBacklog: 0, deadLetters: 0, applied: 0, lastSeq: 0 };
  t.equal(
    replyProblem('uplink/Status', BUILTIN_COMMANDS.Status, { id: '1', ok: true, result: { ...status, uplinkBacklog: 3 } }),
    undefined,
    "Status carries a service's own fields",
  );
  const doc = { lane: 'lane-1', rev: 1, txn: null, status: 'idle', currency: 'EUR', total: 0, items: 0, lineCount: 0, pages: 0, linesRev: 0, blocked: 0 };
  t.equal(docProblem('basket', doc), undefined);
  t.equal(docProblem('basket', { ...doc, bagz: 1 }), 'doc/basket/bagz: a field its schema does not name');
});
