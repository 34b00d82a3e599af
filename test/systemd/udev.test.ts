import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/daemon.js';

// systemd/udev/70-laned.rules against the rule syntax of udev(7) (systemd 252
// has no `udevadm verify`, added in 254), and against what laned needs: stable
// names by USB vendor/product id, groups the unit grants.

const MATCH_KEYS = new Set([
  'ACTION',
  'DEVPATH',
  'KERNEL',
  'KERNELS',
  'SUBSYSTEM',
  'SUBSYSTEMS',
  'DRIVER',
  'DRIVERS',
  'ATTR',
  'ATTRS',
  'SYSCTL',
  'ENV',
  'CONST',
  'TAG',
  'TAGS',
  'TEST',
  'PROGRAM',
  'RESULT',
  'NAME',
  'SYMLINK',
]);
const ASSIGN_KEYS = new Set([
  'NAME',
  'SYMLINK',
  'OWNER',
  'GROUP',
  'MODE',
  'SECLABEL',
  'ATTR',
  'SYSCTL',
  'ENV',
  'TAG',
  'RUN',
  'LABEL',
  'GOTO',
  'IMPORT',
  'OPTIONS',
]);
const WITH_ATTR = new Set(['ATTR', 'ATTRS', 'SYSCTL', 'ENV', 'CONST', 'TEST', 'SECLABEL', 'RUN', 'IMPORT']);

interface Term {
  key: string;
  attr?: string;
  op: string;
  value: string;
}

/** Parse one rule line into its terms; returns a problem instead when it is not udev(7) syntax. */
function parseRule(line: string): Term[] | string {
  const terms: Term[] = [];
  let rest = line.trim();
  while (rest.length) {
    const m = /^([A-Z_]+)(\{([^}]+)\})?(==|!=|\+=|-=|:=|=)"((?:[^"\\]|\\.)*)"\s*(,\s*|$)/.exec(rest);
    if (!m) return `cannot parse at: ${rest.slice(0, 40)}`;
    const [, key, , attr, op, value] = m as unknown as [string, string, string, string | undefined, string, string];
    const isMatch = op === '==' || op === '!=';
    if (isMatch && !MATCH_KEYS.has(key)) return `${key} cannot be matched`;
    if (!isMatch && !ASSIGN_KEYS.has(key)) return `${key} cannot be assigned (${op})`;
    if (attr !== undefined && !WITH_ATTR.has(key)) return `${key} takes no {attribute}`;
    if (attr === undefined && (key === 'ATTRS' || key === 'ATTR' || key === 'ENV')) return `${key} needs an {attribute}`;
    if (key === 'MODE' && !/^0[0-7]{3}$/.test(value)) return `MODE "${value}" is not octal like 0660`;
    if (key === 'RUN' && !value.startsWith('/')) return `RUN "${value}" needs an absolute path`;
    terms.push({ key, ...(attr ? { attr } : {}), op, value });
    rest = rest.slice(m[0].length);
  }
  return terms;
}

const text = readFileSync(join(ROOT, 'systemd/udev/70-laned.rules'), 'utf8');
const rules = text
  .split('\n')
  .map((l, i) => ({ line: i + 1, text: l }))
  .filter((l) => l.text.trim() && !l.text.trim().startsWith('#'));
const unitGroups = /^SupplementaryGroups=(.*)$/m
  .exec(readFileSync(join(ROOT, 'systemd/laned.service'), 'utf8'))![1]!
  .trim()
  .split(/\s+/);

t.test('every rule is udev(7) syntax', async (t) => {
  t.ok(rules.length >= 5, `${rules.length} rules`);
  const parsed = rules.map((r) => ({ ...r, terms: parseRule(r.text) }));
  for (const r of parsed) t.type(r.terms, Array, `line ${r.line}: ${typeof r.terms === 'string' ? r.terms : 'ok'}`);
  const terms = parsed.flatMap((r) => (Array.isArray(r.terms) ? r.terms : []));
  const labels = terms.filter((x) => x.key === 'LABEL').map((x) => x.value);
  for (const g of terms.filter((x) => x.key === 'GOTO')) t.ok(labels.includes(g.value), `GOTO ${g.value} has its LABEL`);
  for (const a of terms.filter((x) => x.attr === 'idVendor' || x.attr === 'idProduct'))
    t.match(a.value, /^[0-9a-f]{4}$/, `${a.attr} ${a.value}: 4 lowercase hex digits, as sysfs prints them`);
  for (const g of terms.filter((x) => x.key === 'GROUP')) t.ok(unitGroups.includes(g.value), `GROUP ${g.value} is one of laned.service's SupplementaryGroups`);
});

t.test('the checker rejects what udev would', async (t) => {
  t.type(parseRule('SUBSYSTEM=="tty", SYMLINK+="laned/scanner"'), Array);
  t.match(parseRule('SUBSYSTEM="tty", SYMLINK+="x"'), /SUBSYSTEM cannot be assigned/);
  t.match(parseRule('ATTRS=="05f9"'), /needs an \{attribute\}/);
  t.match(parseRule('KERNEL=="i2c-*", MODE="660"'), /not octal/);
  t.match(parseRule('SUBSYSTEM=="tty" SYMLINK+="x"'), /cannot parse/);
  t.match(parseRule('GROUP=="dialout"'), /GROUP cannot be matched/);
});

t.test('stable names by USB vendor and product id', async (t) => {
  for (const name of ['laned/scanner', 'laned/scale']) {
    const rule = rules.map((r) => parseRule(r.text)).find((x): x is Term[] => Array.isArray(x) && x.some((y) => y.key === 'SYMLINK' && y.value === name));
    t.ok(rule, `a rule names /dev/${name}`);
    t.ok(
      rule?.some((x) => x.key === 'SUBSYSTEM' && x.op === '==' && x.value === 'tty'),
      'on a tty',
    );
    t.ok(
      rule?.some((x) => x.key === 'ATTRS' && x.attr === 'idVendor' && x.op === '=='),
      'by vendor id',
    );
    t.ok(
      rule?.some((x) => x.key === 'ATTRS' && x.attr === 'idProduct' && x.op === '=='),
      'and product id',
    );
    t.ok(
      rule?.some((x) => x.key === 'GROUP' && x.value === 'dialout'),
      'readable by group dialout',
    );
  }
  t.match(text, /KERNEL=="i2c-\[0-9\]\*", GROUP="i2c"/, '/dev/i2c-* to group i2c');
  t.match(text, /KERNEL=="gpiochip\*", GROUP="gpio"/, 'gpiochips to group gpio');
});
