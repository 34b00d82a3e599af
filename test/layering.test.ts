import t from 'tap';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { ROOT, tempDir } from './helpers/daemon.js';

// The lower layers own their interfaces: nothing under drivers/ or broker/ imports
// from daemon/ (the daemon adapts to them, never the other way round). Every import
// is read with the TypeScript parser: static imports, `export ... from`, `import()`
// and `import type` alike.

/** Module specifiers of one source file. */
function specifiers(file: string): string[] {
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      out.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(src);
  return out;
}

/** `file: specifier` for each import under `layers` (relative to root) that resolves into `forbidden`. */
function upwardImports(root: string, layers: string[], forbidden: string): string[] {
  const top = resolve(root, forbidden) + sep;
  const found: string[] = [];
  for (const layer of layers) {
    for (const e of readdirSync(join(root, layer), { recursive: true, withFileTypes: true })) {
      if (!e.isFile() || !/\.(ts|mts|js|mjs)$/.test(e.name)) continue;
      const file = join(e.parentPath, e.name);
      for (const spec of specifiers(file)) {
        if (!spec.startsWith('.')) continue;
        if (resolve(dirname(file), spec).startsWith(top)) found.push(`${relative(root, file)}: ${spec}`);
      }
    }
  }
  return found;
}

t.test('the check finds an import that runs back up, in every form', async (t) => {
  const root = tempDir('laned-layering-');
  mkdirSync(join(root, 'drivers', 'serial'), { recursive: true });
  mkdirSync(join(root, 'broker'), { recursive: true });
  mkdirSync(join(root, 'daemon', 'core'), { recursive: true });
  writeFileSync(join(root, 'drivers', 'serial', 'a.ts'), "import type { Logger } from '../../daemon/core/log.js';\nimport { x } from './b.js';\n");
  writeFileSync(join(root, 'drivers', 'b.ts'), "export const load = () => import('../daemon/core/config.js');\n");
  writeFileSync(join(root, 'broker', 'c.ts'), "export { Role } from '../daemon/core/config.js';\nlet l: import('../daemon/core/log.js').Logger;\n");
  writeFileSync(join(root, 'broker', 'd.ts'), "import { Roles } from './roles.js';\nimport sqlite3 from 'sqlite3';\n");
  t.same(upwardImports(root, ['drivers', 'broker'], 'daemon').sort(), [
    'broker/c.ts: ../daemon/core/config.js',
    'broker/c.ts: ../daemon/core/log.js',
    'drivers/b.ts: ../daemon/core/config.js',
    'drivers/serial/a.ts: ../../daemon/core/log.js',
  ]);
});

t.test('nothing under drivers/ or broker/ imports from daemon/', async (t) => {
  t.same(upwardImports(ROOT, ['drivers', 'broker'], 'daemon'), []);
});

t.test('drivers/ and broker/ do not import each other', async (t) => {
  t.same(upwardImports(ROOT, ['drivers'], 'broker'), [], 'drivers/ -> broker/');
  t.same(upwardImports(ROOT, ['broker'], 'drivers'), [], 'broker/ -> drivers/');
});
