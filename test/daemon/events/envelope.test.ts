import t from 'tap';
import { Type } from '@sinclair/typebox';
import { defineEvent, defineUpcaster } from '../../../daemon/events/schema.js';
import { parseEvent, newEventId } from '../../../daemon/events/envelope.js';

// A reader of v2 still takes v1 events from a source not yet updated (the design "v versions data").
defineEvent('TestWeighed', 1, Type.Object({ kg: Type.Number() }, { additionalProperties: false }));
defineEvent('TestWeighed', 2, Type.Object({ grams: Type.Integer() }, { additionalProperties: false }));
defineUpcaster('TestWeighed', 1, (d) => ({ grams: Math.round((d as { kg: number }).kg * 1000) }));

const envelope = (v: number, data: unknown) => ({
  id: newEventId(),
  type: 'TestWeighed',
  v,
  source: 'scale',
  seq: 1,
  at: { epoch: 1, mono: '12345' },
  time: '2026-11-22T10:00:00.000Z',
  data,
});

t.test('old versions are upcast on receipt', async (t) => {
  const r = parseEvent('evt/scale/TestWeighed', JSON.stringify(envelope(1, { kg: 0.35 })), 65536);
  t.ok(r.ok);
  if (r.ok) t.same([r.event.v, r.event.data], [2, { grams: 350 }]);
});

t.test('the current version passes unchanged; a bad one names the path', async (t) => {
  const ok = parseEvent('evt/scale/TestWeighed', JSON.stringify(envelope(2, { grams: 7 })), 65536);
  t.ok(ok.ok && ok.event.v === 2);
  const bad = parseEvent('evt/scale/TestWeighed', JSON.stringify(envelope(2, { grams: 'seven' })), 65536);
  t.notOk(bad.ok);
  if (!bad.ok) t.match(bad.reason, /data\/grams/);
});

t.test('envelope problems are reasons, never exceptions', async (t) => {
  const cases: Array<[string, string | Buffer, RegExp]> = [
    ['evt/scale/TestWeighed', '', /not JSON/],
    ['evt/scale/TestWeighed', '[]', /envelope/],
    ['evt/scale/TestWeighed', JSON.stringify({ ...envelope(2, { grams: 1 }), extra: 1 }), /envelope/],
    ['evt/scale/TestWeighed', JSON.stringify({ ...envelope(2, { grams: 1 }), at: { epoch: 1, mono: '-5' } }), /envelope\/at\/mono/],
    ['evt/scale/TestWeighed', Buffer.alloc(70_000, 0x20), /over the limit of 65536/],
  ];
  for (const [topic, payload, re] of cases) {
    const r = parseEvent(topic, payload, 65536);
    t.notOk(r.ok);
    if (!r.ok) t.match(r.reason, re);
  }
});
